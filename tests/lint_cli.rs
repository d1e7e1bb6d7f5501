//! `lbdoctor lint` flags end to end: --select/--ignore, several files (peer checks),
//! --config-id, suppression comments, exit codes.

use assert_cmd::Command;
use serde_json::Value;

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "json", "lint"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

const SEED: &str = "fixtures/incidents/seed-keepalived.conf";

#[test]
fn select_and_ignore_by_id_and_prefix() {
    let (code, v, _) = run(&[SEED, "--select", "LB001"]);
    assert_eq!(code, 1);
    assert_eq!(ids(&v), ["LB001"]);
    let (_, v, _) = run(&[SEED, "--ignore", "LB01,LB026"]);
    assert_eq!(ids(&v), ["LB001"]);
    let (_, v, _) = run(&[SEED, "--select", "lb01"]);
    assert_eq!(ids(&v), ["LB011", "LB015", "LB017", "LB017"]);
    let (code, _, err) = run(&[SEED, "--select", "XYZ"]);
    assert_eq!(code, 2);
    assert!(err.contains("--select `XYZ` matches no check"), "{err}");
}

#[test]
fn two_directors_are_checked_against_each_other() {
    let (code, v, _) = run(&[
        "fixtures/lint/peers/lb1.conf",
        "fixtures/lint/peers/lb2.conf",
    ]);
    assert_eq!(code, 1);
    let got: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["location"]["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, u64)> = [
        ("LB028", "lb2.conf", 8),  // virtual_router_id 51 vs 52
        ("LB029", "lb2.conf", 9),  // equal priority
        ("LB028", "lb2.conf", 13), // auth_pass differs
        ("LB031", "lb2.conf", 17), // lb2's peer list lacks 192.168.21.2
        ("LB030", "lb2.conf", 6),  // both MASTER
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort_by_key(|x| x.2);
    let mut want_sorted = want;
    want_sorted.sort_by_key(|x| x.2);
    assert_eq!(got_sorted, want_sorted, "{got:?}");
    // each file alone is fine as far as VRRP goes
    let (code, _, _) = run(&["fixtures/lint/peers/lb1.conf"]);
    assert_eq!(code, 0);
}

#[test]
fn peers_are_paired_by_what_they_share_not_by_name() {
    // an unrelated VI_1 is not compared, whatever its settings
    let (_, v, _) = run(&[
        "fixtures/lint/peers/lb1.conf",
        "fixtures/lint/peers/unrelated.conf",
    ]);
    let cross: Vec<String> = ids(&v)
        .into_iter()
        .filter(|i| ["LB028", "LB029", "LB030", "LB031"].contains(&i.as_str()))
        .collect();
    assert!(cross.is_empty(), "{cross:?}");
    assert_eq!(v["peers"]["clusters"].as_array().unwrap().len(), 0);
    assert_eq!(v["peers"]["unpaired"].as_array().unwrap().len(), 2);
    // a peer under another instance name is compared: it shares the VIP
    let (_, v, _) = run(&[
        "fixtures/lint/peers/lb1.conf",
        "fixtures/lint/peers/renamed.conf",
        "fixtures/lint/peers/unrelated.conf",
    ]);
    let f: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        f.iter()
            .any(|(i, m)| i == "LB028" && m.contains("advert_int")),
        "{f:#?}"
    );
    let clusters = &v["peers"]["clusters"];
    assert_eq!(clusters.as_array().unwrap().len(), 1, "{clusters}");
    assert_eq!(
        clusters[0],
        serde_json::json!([
            "fixtures/lint/peers/lb1.conf",
            "fixtures/lint/peers/renamed.conf"
        ])
    );
    assert_eq!(
        v["peers"]["pairs"][0]["instances"],
        serde_json::json!(["VI_1", "web_vip"])
    );
    assert_eq!(
        v["peers"]["pairs"][0]["shared"],
        "unicast peer 192.168.21.2"
    );
    assert_eq!(
        v["peers"]["unpaired"],
        serde_json::json!(["fixtures/lint/peers/unrelated.conf"])
    );
}

#[test]
fn model_modes() {
    let model = |mode: &str| {
        let (_, v, _) = run(&[SEED, "--model", mode]);
        (v["model_mode"].clone(), v["model"].clone())
    };
    // a small config gets the full model by default
    let (_, v, _) = run(&[SEED]);
    assert_eq!(v["model_mode"], "full");
    assert_eq!(
        v["model"][0]["virtual_servers"][0]["scheduler"]["value"],
        "lc"
    );
    let (m, s) = model("summary");
    assert_eq!(m, "summary");
    assert_eq!(s[0]["virtual_server_count"], 1);
    assert_eq!(s[0]["real_server_count"], 2);
    assert_eq!(s[0]["vrrp_instances"][0]["name"], "VI_1");
    assert!(s[0].get("virtual_servers").is_none());
    let (m, s) = model("none");
    assert_eq!(m, "none");
    assert!(s.is_null());
}

#[test]
fn config_id_selects_conditional_lines() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    std::fs::write(&p, "vrrp_instance VI_1 {\n@lb1 state MASTER\n@lb2 state BACKUP\n@lb1 nopreempt\n virtual_router_id 51\n}\n").unwrap();
    let f = p.display().to_string();
    let (_, v, _) = run(&[&f, "--config-id", "lb1"]);
    assert_eq!(ids(&v), ["LB026"]);
    let (code, v, _) = run(&[&f, "--config-id", "lb2"]);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn suppressions_and_unused_ones() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    std::fs::write(
        &p,
        "vrrp_instance VI_1 {\n  state MASTER\n  nopreempt   # lbdoctor: ignore LB026\n  virtual_router_id 51\n  priority 100 # lbdoctor: ignore LB001\n}\n",
    )
    .unwrap();
    let (code, v, _) = run(&[&p.display().to_string()]);
    assert_eq!(ids(&v), ["LB037"]);
    assert_eq!(v["findings"][0]["location"]["line"], 5);
    // info only: exit 0 at the default --fail-on warning
    assert_eq!(code, 0);
    let (_, v, _) = run(&[&p.display().to_string(), "--ignore", "LB001"]);
    assert!(
        ids(&v).is_empty(),
        "an ignored check's suppression is not reported unused"
    );
}

#[test]
fn clean_config_exits_zero() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    std::fs::write(
        &p,
        "global_defs {\n  router_id lb1\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  virtual_ipaddress {\n    10.0.0.20/24\n  }\n}\nvirtual_server 10.0.0.20 80 {\n  delay_loop 10\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  real_server 10.0.1.1 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n",
    )
    .unwrap();
    let (code, v, _) = run(&[&p.display().to_string()]);
    assert_eq!(code, 0, "{v}");
    assert!(ids(&v).is_empty());
}

#[test]
fn wrong_case_scheduler_and_method_are_rejected_with_the_right_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.168.21.20 80 {\n  lvs_sched LC\n  lvs_method dr\n  protocol TCP\n  real_server 192.168.21.71 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "lint"])
        .arg(&conf)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`lvs_sched LC`") && m.contains("write `lc`")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`lvs_method dr`") && m.contains("write `DR`")),
        "{messages:#?}"
    );
}

/// LB003 names the block keyword and its line, and says what keepalived does instead: an
/// ordinary block still takes the next lines; a value block takes this line as its first item.
#[test]
fn missing_open_brace_messages() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    std::fs::write(
        &p,
        "virtual_server 10.0.0.1 80\n  lb_algo rr\n}\nvrrp_instance V {\n  virtual_ipaddress\n    10.0.0.9\n  }\n}\n",
    )
    .unwrap();
    let (_, v, err) = run(&[p.to_str().unwrap()]);
    let msgs: Vec<&str> = v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|f| f["id"] == "LB003")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(msgs.contains(&"`virtual_server` (line 1) is not followed by `{` (\"Missing '{' at beginning of configuration block\"); keepalived still reads the following lines into it"), "{msgs:?}");
    assert!(msgs.contains(&"`virtual_ipaddress` (line 5) is not followed by `{`; keepalived reads this line as its first item anyway and the block ends at the next `}`, whichever block that belonged to"), "{msgs:?}");
}

#[test]
fn line_references_name_the_file_in_an_include_set() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("vs.conf"),
        "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lb_algo lc\n lvs_method DR\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n",
    )
    .unwrap();
    let top = d.path().join("keepalived.conf");
    std::fs::write(&top, "include vs.conf\n").unwrap();
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--color", "never", "lint", "--fail-on", "never"])
        .arg(&top)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // the scheduler column and LB001's message both name the included file
    assert!(
        text.contains("(lb_algo ") && text.contains("vs.conf:3"),
        "{text}"
    );
    assert!(!text.contains("(lb_algo line 3"), "{text}");
    let (_, v, _) = run(&[top.to_str().unwrap()]);
    let lb001 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "LB001")
        .unwrap();
    let msg = lb001["message"].as_str().unwrap();
    assert!(
        msg.contains("vs.conf:3") && msg.contains("vs.conf:2"),
        "{msg}"
    );
}
