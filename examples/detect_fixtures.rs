//! Writes the crafted capture fixtures under fixtures/detect/crafted/ (committed; the test
//! `crafted_fixtures_match_the_generator` checks they are exactly what this program writes).
//! Usage: cargo run --example detect_fixtures [OUT_DIR]

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/detect/crafted").into());
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in lbdoctor::capture::synth::crafted_fixtures() {
        let p = Path::new(&dir).join(name);
        std::fs::write(&p, bytes)?;
        println!("wrote {}", p.display());
    }
    Ok(())
}
