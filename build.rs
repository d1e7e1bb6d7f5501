//! Embeds every checks/*.md file in the binary, so `lbdoctor explain` needs no files at run time.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("checks");
    println!("cargo:rerun-if-changed=checks");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("checks/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    let mut out = String::from("pub static CHECK_FILES: &[(&str, &str)] = &[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=checks/{n}");
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/checks/{n}\"))),\n"
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("checks_embedded.rs");
    fs::write(dest, out).unwrap();
}
