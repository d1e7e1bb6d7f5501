//! Ansible inventories (INI and YAML), read the way Ansible's `ini` and `yaml` inventory
//! plugins read them, for `audit --inventory FILE [--limit GROUP]`.
//!
//! What is read: groups, `[g:children]` / `children:`, `[g:vars]` / `vars:`, host variables,
//! the implicit `all` and `ungrouped` groups, `host:port`, and host ranges (`web[01:03]`,
//! `db[a:c]`, `[1:9:2]` with a stride), expanded as Ansible's `expand_hostname_range` does.
//! Of the variables, only the connection ones are used: `ansible_host`, `ansible_port`,
//! `ansible_user`, `ansible_ssh_private_key_file` (and their old `ansible_ssh_*` names),
//! `ansible_connection=local`, plus `lbdoctor_role` (`director` or `real`). A host's value
//! comes from its own variables, else from its groups, deeper groups first (Ansible's order
//! for group variables). Jinja templates and vault values are not evaluated: a connection
//! variable holding one is an error that names its line. Every error names file:line.

use crate::error::Error;
use crate::remote::Dest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Hosts one inventory line may expand to; past this a range is almost surely a typo.
const MAX_HOSTS: usize = 10_000;

/// A value with the line it was written on (for errors).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Val {
    text: Option<String>,
    line: usize,
    /// The group_vars/host_vars file it came from (None: the inventory itself).
    file: Option<PathBuf>,
}

#[derive(Debug, Default, Clone)]
struct Group {
    hosts: Vec<String>,
    children: Vec<String>,
    vars: BTreeMap<String, Val>,
    /// Where the group was first defined (0: implicit).
    line: usize,
}

#[derive(Debug, Default, Clone)]
struct HostDef {
    vars: BTreeMap<String, Val>,
    line: usize,
}

/// A parsed inventory: groups and hosts, in the order the file names them.
#[derive(Debug, Default)]
pub struct Inventory {
    pub path: PathBuf,
    groups: BTreeMap<String, Group>,
    hosts: BTreeMap<String, HostDef>,
    order: Vec<String>,
    /// Variables from group_vars/ and host_vars/ next to the inventory, by name.
    group_files: BTreeMap<String, BTreeMap<String, Val>>,
    host_files: BTreeMap<String, BTreeMap<String, Val>>,
}

/// One host to audit, as the inventory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvHost {
    pub dest: Dest,
    /// Every group the host is in, directly or through `children` (without `all`).
    pub groups: Vec<String>,
    /// `lbdoctor_role` from the inventory, when set.
    pub role: Option<String>,
    /// The line that first names the host.
    pub line: usize,
}

impl InvHost {
    /// The role the group names give: a host in a group whose name has a director word
    /// (director, lb, loadbalancer, keepalived, lvs, ipvs; split on `_ - .`) and no
    /// real-server word (real, realserver, rs, backend) is a director. `lbdoctor_role` wins.
    pub fn is_director(&self) -> bool {
        match self.role.as_deref() {
            Some(r) => r == "director",
            None => self.groups.iter().any(|g| director_group(g)),
        }
    }
}

fn director_group(name: &str) -> bool {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let has = |set: &[&str]| {
        words
            .iter()
            .any(|w| set.contains(&w.as_str()) || set.contains(&w.trim_end_matches('s')))
    };
    has(&[
        "director",
        "lb",
        "loadbalancer",
        "balancer",
        "keepalived",
        "lvs",
        "ipvs",
    ]) && !has(&["real", "realserver", "rs", "backend"])
}

impl Inventory {
    pub fn load(path: &Path) -> anyhow::Result<Inventory> {
        let bytes = crate::error::read_file(path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::file(path, "not UTF-8 text; is this an Ansible inventory?"))?;
        let mut inv = Self::parse(path, &text)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        inv.read_vars_dirs(dir)?;
        Ok(inv)
    }

    /// Ansible's `group_vars/NAME` and `host_vars/NAME` next to the inventory: a file named
    /// NAME, NAME.yml, NAME.yaml or NAME.json, or a directory NAME/ whose files are read in
    /// name order. A vault-encrypted file is skipped (it cannot be read without the vault
    /// password; connection variables are rarely kept there).
    fn read_vars_dirs(&mut self, dir: &Path) -> anyhow::Result<()> {
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        for g in groups {
            let v = read_vars_for(&dir.join("group_vars"), &g)?;
            if !v.is_empty() {
                self.group_files.insert(g, v);
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in hosts {
            let v = read_vars_for(&dir.join("host_vars"), &h)?;
            if !v.is_empty() {
                self.host_files.insert(h, v);
            }
        }
        Ok(())
    }

    /// Parse `text` as YAML when the name ends in .yml/.yaml/.json or the first line that
    /// matters looks like YAML (`---`, or `name:` ending the line), else as INI.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Inventory> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
            .unwrap_or("");
        let first = first.split(" #").next().unwrap_or(first).trim_end();
        let yaml = matches!(ext.as_str(), "yml" | "yaml" | "json")
            || first.starts_with("---")
            || first.starts_with('{')
            || (first.ends_with(':') && !first.starts_with('['));
        let mut inv = Inventory {
            path: path.to_path_buf(),
            ..Default::default()
        };
        inv.group("all", 0);
        inv.group("ungrouped", 0);
        if yaml {
            inv.parse_yaml(text)?;
        } else {
            inv.parse_ini(text)?;
        }
        inv.finish()?;
        Ok(inv)
    }

    fn err(&self, line: usize, msg: impl Into<String>) -> anyhow::Error {
        Error::file_line(&self.path, line, msg).into()
    }

    /// An error about a variable, at the file and line that set it.
    fn err_at(&self, v: Option<&Val>, fallback: usize, msg: impl Into<String>) -> anyhow::Error {
        match v {
            Some(Val {
                file: Some(f),
                line,
                ..
            }) => Error::file_line(f, *line, msg).into(),
            Some(v) => self.err(v.line, msg),
            None => self.err(fallback, msg),
        }
    }

    fn group(&mut self, name: &str, line: usize) -> &mut Group {
        let g = self.groups.entry(name.to_string()).or_default();
        if g.line == 0 {
            g.line = line;
        }
        g
    }

    fn add_host(&mut self, group: &str, name: &str, line: usize, port: Option<u16>) {
        let h = self.hosts.entry(name.to_string()).or_insert_with(|| {
            self.order.push(name.to_string());
            HostDef {
                line,
                ..Default::default()
            }
        });
        if let Some(p) = port {
            h.vars.insert(
                "ansible_port".into(),
                Val {
                    text: Some(p.to_string()),
                    line,
                    file: None,
                },
            );
        }
        let g = self.group(group, line);
        if !g.hosts.iter().any(|h| h == name) {
            g.hosts.push(name.to_string());
        }
    }

    fn add_child(&mut self, parent: &str, child: &str, line: usize) -> anyhow::Result<()> {
        if parent == child {
            return Err(self.err(line, format!("group {parent} is its own child")));
        }
        let g = self.group(parent, line);
        if !g.children.iter().any(|c| c == child) {
            g.children.push(child.to_string());
        }
        Ok(())
    }

    /// Hosts with no group but `all` join `ungrouped`; a cycle in `children` is an error.
    fn finish(&mut self) -> anyhow::Result<()> {
        // Every group that is nobody's child hangs under `all`, as in Ansible.
        let named: BTreeSet<String> = self
            .groups
            .values()
            .flat_map(|g| g.children.iter().cloned())
            .collect();
        let tops: Vec<String> = self
            .groups
            .keys()
            .filter(|g| *g != "all" && !named.contains(*g))
            .cloned()
            .collect();
        for t in tops {
            self.add_child("all", &t, 0)?;
        }
        for (name, g) in &self.groups {
            let mut seen = BTreeSet::new();
            if let Some(path) = self.cycle(name, name, &mut seen) {
                return Err(self.err(
                    g.line,
                    format!("groups form a cycle through children: {name} -> {path}"),
                ));
            }
        }
        let grouped: BTreeSet<&String> = self
            .groups
            .iter()
            .filter(|(n, _)| n.as_str() != "all" && n.as_str() != "ungrouped")
            .flat_map(|(_, g)| g.hosts.iter())
            .collect();
        let lone: Vec<String> = self
            .order
            .iter()
            .filter(|h| !grouped.contains(h))
            .cloned()
            .collect();
        for h in lone {
            let line = self.hosts[&h].line;
            let g = self.group("ungrouped", line);
            if !g.hosts.contains(&h) {
                g.hosts.push(h);
            }
        }
        if !self
            .groups
            .get("all")
            .is_some_and(|g| g.children.iter().any(|c| c == "ungrouped"))
        {
            self.add_child("all", "ungrouped", 0)?;
        }
        Ok(())
    }

    fn cycle(&self, start: &str, at: &str, seen: &mut BTreeSet<String>) -> Option<String> {
        for c in self
            .groups
            .get(at)
            .map(|g| g.children.as_slice())
            .unwrap_or(&[])
        {
            if c == start {
                return Some(c.clone());
            }
            if seen.insert(c.clone()) {
                if let Some(p) = self.cycle(start, c, seen) {
                    return Some(format!("{c} -> {p}"));
                }
            }
        }
        None
    }

    /// All group names, sorted.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
    }

    /// Hosts of `group` and of its children, in file order.
    fn members(&self, group: &str, out: &mut BTreeSet<String>, seen: &mut BTreeSet<String>) {
        if !seen.insert(group.to_string()) {
            return;
        }
        if let Some(g) = self.groups.get(group) {
            out.extend(g.hosts.iter().cloned());
            for c in &g.children {
                self.members(c, out, seen);
            }
        }
    }

    /// Depth of each group below `all` (the longest path), for variable precedence.
    fn depths(&self) -> BTreeMap<String, usize> {
        let mut d: BTreeMap<String, usize> = BTreeMap::new();
        fn walk(inv: &Inventory, g: &str, depth: usize, d: &mut BTreeMap<String, usize>) {
            if d.get(g).is_some_and(|x| *x >= depth) {
                return;
            }
            d.insert(g.to_string(), depth);
            for c in inv
                .groups
                .get(g)
                .map(|g| g.children.as_slice())
                .unwrap_or(&[])
            {
                walk(inv, c, depth + 1, d);
            }
        }
        walk(self, "all", 0, &mut d);
        d
    }

    /// The hosts `--limit` selects: comma- or colon-separated group or host names (Ansible's
    /// union of patterns, without wildcards); `None` is `all`.
    pub fn select(&self, limit: Option<&str>) -> anyhow::Result<Vec<InvHost>> {
        let mut chosen = BTreeSet::new();
        let limit = limit.unwrap_or("all");
        for pat in limit
            .split([',', ':'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if self.groups.contains_key(pat) {
                self.members(pat, &mut chosen, &mut BTreeSet::new());
            } else if self.hosts.contains_key(pat) {
                chosen.insert(pat.to_string());
            } else {
                return Err(Error::Usage(format!(
                    "--limit {limit}: {pat:?} is neither a group nor a host of {} (groups: {})",
                    self.path.display(),
                    self.group_names().join(", ")
                ))
                .into());
            }
        }
        let depths = self.depths();
        let membership: BTreeMap<&String, BTreeSet<String>> = self
            .groups
            .keys()
            .map(|g| {
                let mut m = BTreeSet::new();
                self.members(g, &mut m, &mut BTreeSet::new());
                (g, m)
            })
            .collect();
        let mut out = Vec::new();
        for name in self.order.iter().filter(|h| chosen.contains(*h)) {
            let groups: Vec<String> = membership
                .iter()
                .filter(|(_, m)| m.contains(name))
                .map(|(g, _)| (*g).clone())
                .collect();
            out.push(self.host(name, groups, &depths)?);
        }
        if out.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no hosts in {limit}; nothing to audit",
                self.path.display()
            ))
            .into());
        }
        Ok(out)
    }

    /// The host `name`, in `groups` (every group holding it, through children).
    fn host(
        &self,
        name: &str,
        mut groups: Vec<String>,
        depths: &BTreeMap<String, usize>,
    ) -> anyhow::Result<InvHost> {
        let def = &self.hosts[name];
        // Deeper groups win over their parents, then the name decides; host vars win last.
        let mut ordered: Vec<&String> = groups.iter().collect();
        ordered.sort_by_key(|g| (depths.get(*g).copied().unwrap_or(0), g.as_str()));
        // Ansible's order, lowest first: the inventory's group vars, group_vars/all, the
        // other group_vars/*, the inventory's host vars, host_vars/*.
        let mut vars: BTreeMap<&str, &Val> = BTreeMap::new();
        for g in &ordered {
            for (k, v) in &self.groups[*g].vars {
                vars.insert(k, v);
            }
        }
        for g in ordered
            .iter()
            .filter(|g| g.as_str() == "all")
            .chain(ordered.iter().filter(|g| g.as_str() != "all"))
        {
            for (k, v) in self.group_files.get(*g).into_iter().flatten() {
                vars.insert(k, v);
            }
        }
        for (k, v) in &def.vars {
            vars.insert(k, v);
        }
        for (k, v) in self.host_files.get(name).into_iter().flatten() {
            vars.insert(k, v);
        }
        let get = |keys: &[&str]| -> anyhow::Result<Option<String>> {
            let Some((k, v)) = keys.iter().find_map(|k| vars.get(k).map(|v| (*k, *v))) else {
                return Ok(None);
            };
            match &v.text {
                Some(t) if t.contains("{{") || t.contains("{%") => Err(self.err_at(
                    Some(v),
                    def.line,
                    format!("{k} for host {name} is a Jinja template ({t}); lbdoctor does not evaluate templates: write the value itself"),
                )),
                Some(t) if t.trim_start().starts_with("$ANSIBLE_VAULT") => Err(self.err_at(
                    Some(v),
                    def.line,
                    format!("{k} for host {name} is vault-encrypted; lbdoctor does not decrypt vaults: write the value itself"),
                )),
                Some(t) => Ok(Some(t.clone())),
                None => Err(self.err_at(
                    Some(v),
                    def.line,
                    format!("{k} for host {name} is not a plain value (a list, mapping or tagged value)"),
                )),
            }
        };
        let at = |k: &str| vars.get(k).copied();
        let port =
            match get(&["ansible_port", "ansible_ssh_port"])? {
                Some(p) => Some(p.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(
                    || {
                        self.err_at(
                            at("ansible_port").or(at("ansible_ssh_port")),
                            def.line,
                            format!(
                                "ansible_port {p:?} for host {name} is not a TCP port (1-65535)"
                            ),
                        )
                    },
                )?),
                None => None,
            };
        let connection = get(&["ansible_connection"])?;
        let local = match connection.as_deref() {
            None | Some("ssh") | Some("paramiko") | Some("smart") => false,
            Some("local") => true,
            Some(other) => {
                return Err(self.err_at(
                    at("ansible_connection"),
                    def.line,
                    format!("ansible_connection={other} for host {name}: lbdoctor reaches hosts over SSH (ssh) or runs locally (local)"),
                ));
            }
        };
        let role = get(&["lbdoctor_role"])?;
        if let Some(r) = &role {
            if r != "director" && r != "real" {
                return Err(self.err_at(
                    at("lbdoctor_role"),
                    def.line,
                    format!("lbdoctor_role={r} for host {name}: use director or real"),
                ));
            }
        }
        let dest = Dest {
            name: name.to_string(),
            address: get(&["ansible_host", "ansible_ssh_host"])?,
            port,
            user: get(&["ansible_user", "ansible_ssh_user"])?,
            identity: get(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
                .map(|p| expand_home(&p)),
            local,
        };
        groups.retain(|g| g != "all");
        Ok(InvHost {
            dest,
            groups,
            role,
            line: def.line,
        })
    }

    // ---- INI ----

    fn parse_ini(&mut self, text: &str) -> anyhow::Result<()> {
        #[derive(PartialEq)]
        enum Sect {
            Hosts,
            Vars,
            Children,
        }
        let mut group = "ungrouped".to_string();
        let mut sect = Sect::Hosts;
        // Groups are defined by [g] or [g:children]; one named only in [g:vars] or as a child
        // and never defined is most often a typo, and Ansible refuses it too.
        let mut defined: BTreeSet<String> = ["all", "ungrouped"].map(String::from).into();
        let mut pending: Vec<(usize, String, &str)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') && !looks_like_range_host(line) {
                let head = line.split(" #").next().unwrap_or(line).trim_end();
                let Some(inner) = head.strip_prefix('[').and_then(|h| h.strip_suffix(']')) else {
                    return Err(self.err(n, format!("bad section header {line:?}: expected [group], [group:vars] or [group:children]")));
                };
                let (name, kind) = match inner.split_once(':') {
                    Some((g, k)) => (g.trim(), k.trim()),
                    None => (inner.trim(), ""),
                };
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(self.err(n, format!("bad group name {name:?} in {line:?}")));
                }
                sect = match kind {
                    "" | "hosts" => Sect::Hosts,
                    "vars" => Sect::Vars,
                    "children" => Sect::Children,
                    k => {
                        return Err(self.err(
                            n,
                            format!("section [{name}:{k}] has unknown type {k:?}: use [{name}], [{name}:vars] or [{name}:children]"),
                        ))
                    }
                };
                group = name.to_string();
                if sect == Sect::Vars {
                    pending.push((n, name.to_string(), "vars"));
                } else {
                    self.group(name, n);
                    defined.insert(name.to_string());
                }
                continue;
            }
            let toks = shlex(line).map_err(|e| self.err(n, e))?;
            let Some(first) = toks.first() else { continue };
            match sect {
                Sect::Hosts => {
                    let (hosts, port) = expand_pattern(first).map_err(|e| self.err(n, e))?;
                    let mut vars = BTreeMap::new();
                    for t in &toks[1..] {
                        let Some((k, v)) = t.split_once('=') else {
                            return Err(
                                self.err(n, format!("expected key=value host variable, got {t:?}"))
                            );
                        };
                        vars.insert(
                            k.to_string(),
                            Val {
                                text: Some(v.to_string()),
                                line: n,
                                file: None,
                            },
                        );
                    }
                    for h in hosts {
                        self.add_host(&group, &h, n, port);
                        if let Some(d) = self.hosts.get_mut(&h) {
                            d.vars.extend(vars.clone());
                        }
                    }
                }
                Sect::Vars => {
                    let Some((k, v)) = line.split_once('=') else {
                        return Err(self.err(
                            n,
                            format!("expected key=value in [{group}:vars], got {line:?}"),
                        ));
                    };
                    let v = shlex(v.trim()).map_err(|e| self.err(n, e))?.join(" ");
                    let g = self.groups.entry(group.clone()).or_default();
                    g.vars.insert(
                        k.trim().to_string(),
                        Val {
                            text: Some(v),
                            line: n,
                            file: None,
                        },
                    );
                }
                Sect::Children => {
                    if toks.len() > 1 {
                        return Err(self.err(
                            n,
                            format!("a [{group}:children] line names one group, got {line:?}"),
                        ));
                    }
                    let child = first.clone();
                    pending.push((n, child.clone(), "child"));
                    self.groups.entry(child.clone()).or_default();
                    self.add_child(&group, &child, n)?;
                }
            }
        }
        if let Some((line, g, kind)) = pending.into_iter().find(|(_, g, _)| !defined.contains(g)) {
            let what = if kind == "vars" {
                format!("section [{g}:vars] is for a group that is never defined (no [{g}] or [{g}:children] section)")
            } else {
                format!("child group {g} is never defined (no [{g}] or [{g}:children] section)")
            };
            return Err(self.err(line, what));
        }
        Ok(())
    }

    // ---- YAML ----

    fn parse_yaml(&mut self, text: &str) -> anyhow::Result<()> {
        let root = yaml::load(text).map_err(|(line, msg)| self.err(line, msg))?;
        let Some(root) = root else {
            return Err(Error::file(&self.path, "empty inventory: no groups and no hosts").into());
        };
        let yaml::Y::Map(top) = &root.v else {
            return Err(self.err(
                root.line,
                "a YAML inventory is a mapping of group names (all:, webservers:, ...)",
            ));
        };
        for (k, v) in top {
            let name = self.key(k)?;
            self.yaml_group(&name, v, k.line, 0)?;
        }
        Ok(())
    }

    fn key(&self, k: &yaml::Node) -> anyhow::Result<String> {
        match &k.v {
            yaml::Y::Scalar(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(self.err(
                k.line,
                "expected a name here (a group, a host or a variable)",
            )),
        }
    }

    fn yaml_group(
        &mut self,
        name: &str,
        data: &yaml::Node,
        line: usize,
        depth: usize,
    ) -> anyhow::Result<()> {
        if depth > 64 {
            return Err(self.err(line, "groups nested more than 64 deep"));
        }
        self.group(name, line);
        let entries = match &data.v {
            yaml::Y::Null => return Ok(()),
            yaml::Y::Map(m) => m,
            _ => {
                return Err(self.err(
                    data.line,
                    format!("group {name}: expected a mapping with hosts:, vars: or children:"),
                ))
            }
        };
        for (k, v) in entries {
            let key = self.key(k)?;
            match key.as_str() {
                "hosts" => match &v.v {
                    yaml::Y::Null => {}
                    yaml::Y::Map(hosts) => {
                        for (hk, hv) in hosts {
                            let pattern = self.key(hk)?;
                            let (names, port) = expand_pattern(&pattern).map_err(|e| self.err(hk.line, e))?;
                            let vars = self.yaml_vars(hv, &format!("host {pattern}"))?;
                            for h in names {
                                self.add_host(name, &h, hk.line, port);
                                if let Some(d) = self.hosts.get_mut(&h) {
                                    d.vars.extend(vars.clone());
                                }
                            }
                        }
                    }
                    _ => {
                        return Err(self.err(
                            v.line,
                            format!("hosts of group {name} must be a mapping (host: or host: {{vars}}), not a list or a value"),
                        ))
                    }
                },
                "vars" => {
                    let vars = self.yaml_vars(v, &format!("vars of group {name}"))?;
                    self.group(name, line).vars.extend(vars);
                }
                "children" => match &v.v {
                    yaml::Y::Null => {}
                    yaml::Y::Map(kids) => {
                        for (ck, cv) in kids {
                            let child = self.key(ck)?;
                            self.add_child(name, &child, ck.line)?;
                            self.yaml_group(&child, cv, ck.line, depth + 1)?;
                        }
                    }
                    _ => {
                        return Err(self.err(
                            v.line,
                            format!("children of group {name} must be a mapping of group names"),
                        ))
                    }
                },
                other => {
                    return Err(self.err(
                        k.line,
                        format!("group {name} has key {other:?}; a group holds only hosts:, vars: and children: (is this a host or a variable indented one level too little?)"),
                    ))
                }
            }
        }
        Ok(())
    }

    fn yaml_vars(&self, v: &yaml::Node, what: &str) -> anyhow::Result<BTreeMap<String, Val>> {
        let mut out = BTreeMap::new();
        match &v.v {
            yaml::Y::Null => {}
            yaml::Y::Map(m) => {
                for (k, val) in m {
                    let text = match &val.v {
                        yaml::Y::Scalar(s) => Some(s.clone()),
                        yaml::Y::Null => Some(String::new()),
                        _ => None,
                    };
                    out.insert(
                        self.key(k)?,
                        Val {
                            text,
                            line: k.line,
                            file: None,
                        },
                    );
                }
            }
            _ => {
                return Err(self.err(
                    v.line,
                    format!("{what}: expected a mapping of variables (key: value)"),
                ))
            }
        }
        Ok(out)
    }
}

/// The variables of `dir/NAME{,.yml,.yaml,.json}` and of every file in `dir/NAME/`.
fn read_vars_for(dir: &Path, name: &str) -> anyhow::Result<BTreeMap<String, Val>> {
    let mut files: Vec<PathBuf> = ["", ".yml", ".yaml", ".json"]
        .iter()
        .map(|e| dir.join(format!("{name}{e}")))
        .filter(|p| p.is_file())
        .collect();
    let sub = dir.join(name);
    if sub.is_dir() {
        let mut inner: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map_err(|e| Error::file(&sub, format!("cannot read: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        None | Some("yml" | "yaml" | "json")
                    )
            })
            .collect();
        inner.sort();
        files.extend(inner);
    }
    let mut out = BTreeMap::new();
    for f in files {
        let bytes = crate::error::read_file(&f)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::file(&f, "not UTF-8 text; expected YAML variables"))?;
        if text.trim_start().starts_with("$ANSIBLE_VAULT") {
            continue;
        }
        let root = yaml::load(&text).map_err(|(line, msg)| Error::file_line(&f, line, msg))?;
        let Some(root) = root else { continue };
        let entries = match root.v {
            yaml::Y::Null => continue,
            yaml::Y::Map(m) => m,
            _ => {
                return Err(Error::file_line(
                    &f,
                    root.line,
                    "expected a mapping of variables (key: value)",
                )
                .into())
            }
        };
        for (k, v) in entries {
            let yaml::Y::Scalar(key) = &k.v else {
                return Err(Error::file_line(&f, k.line, "expected a variable name").into());
            };
            let text = match &v.v {
                yaml::Y::Scalar(s) => Some(s.clone()),
                yaml::Y::Null => Some(String::new()),
                _ => None,
            };
            out.insert(
                key.clone(),
                Val {
                    text,
                    line: k.line,
                    file: Some(f.clone()),
                },
            );
        }
    }
    Ok(out)
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => crate::remote::ssh_config::home_dir().join(rest),
        None => PathBuf::from(p),
    }
}

/// A host line in INI may itself start with `[` only as an IPv6 address (`[2001:db8::1]:22`);
/// a section header ends with `]`.
fn looks_like_range_host(line: &str) -> bool {
    let head = line.split(" #").next().unwrap_or(line).trim_end();
    !head.ends_with(']') && head.contains("]:")
}

/// Split a line as Python's `shlex.split(line, comments=True)` does for inventory lines:
/// quotes group, a backslash escapes outside single quotes, `#` at a word start ends the line.
fn shlex(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut it = line.chars();
    while let Some(c) = it.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(n) = it.next() {
                    if n != '"' && n != '\\' {
                        cur.push('\\');
                    }
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(n) = it.next() {
                        cur.push(n);
                    }
                    in_word = true;
                }
                '#' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote in {line:?}"));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `host`, `host:port`, `[v6]:port`, with ranges expanded: the names and the port.
fn expand_pattern(pat: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (host, port) = split_port(pat)?;
    let mut out = Vec::new();
    if host.contains('[') {
        expand_range(&host, &mut out)?;
    } else {
        out.push(host);
    }
    if let Some(bad) = out
        .iter()
        .find(|h| h.is_empty() || h.contains(char::is_whitespace))
    {
        return Err(format!("bad host name {bad:?} from {pat:?}"));
    }
    Ok((out, port))
}

fn split_port(pat: &str) -> Result<(String, Option<u16>), String> {
    // `[2001:db8::1]:22` or `[2001:db8::1]`: an address in brackets, not a range.
    if let Some(inner) = pat.strip_prefix('[') {
        if let Some((addr, tail)) = inner.split_once(']') {
            if addr.parse::<std::net::Ipv6Addr>().is_ok() {
                let port = match tail.strip_prefix(':') {
                    Some(p) => Some(parse_port(p, pat)?),
                    None if tail.is_empty() => None,
                    None => return Err(format!("bad host {pat:?}")),
                };
                return Ok((addr.to_string(), port));
            }
        }
    }
    // A bare IPv6 address has no port.
    if pat.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((pat.to_string(), None));
    }
    // The last ':' outside brackets splits off a port.
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in pat.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    match split {
        Some(i) => Ok((pat[..i].to_string(), Some(parse_port(&pat[i + 1..], pat)?))),
        None => Ok((pat.to_string(), None)),
    }
}

fn parse_port(p: &str, pat: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("bad port {p:?} in host {pat:?} (HOST:PORT, 1-65535)"))
}

/// Ansible's `expand_hostname_range`: the first `[beg:end(:step)]` is expanded (numbers,
/// zero-padded when `beg` has a leading 0, or letters), then the rest recursively.
fn expand_range(pat: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pat.find('[') else {
        out.push(pat.to_string());
        return Ok(());
    };
    let close = pat[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or_else(|| format!("host range in {pat:?} has no closing ]"))?;
    let (head, range, tail) = (&pat[..open], &pat[open + 1..close], &pat[close + 1..]);
    let b: Vec<&str> = range.split(':').collect();
    if b.len() != 2 && b.len() != 3 {
        return Err(format!(
            "host range [{range}] in {pat:?} must be begin:end or begin:end:step"
        ));
    }
    let beg = if b[0].is_empty() { "0" } else { b[0] };
    let end = b[1];
    if end.is_empty() {
        return Err(format!("host range [{range}] in {pat:?} has no end value"));
    }
    let step: usize = match b.get(2) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("bad step {s:?} in host range [{range}]"))?,
        None => 1,
    };
    let items: Vec<String> = if beg.len() == 1
        && end.len() == 1
        && beg.chars().all(|c| c.is_ascii_alphabetic())
        && end.chars().all(|c| c.is_ascii_alphabetic())
    {
        // string.ascii_letters order: a-z then A-Z.
        const L: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let (i, j) = (L.find(beg).unwrap_or(0), L.find(end).unwrap_or(0));
        if i > j {
            return Err(format!(
                "host range [{range}] in {pat:?} must have begin <= end"
            ));
        }
        L[i..=j].chars().step_by(step).map(String::from).collect()
    } else {
        let pad = (beg.len() > 1 && beg.starts_with('0')).then_some(beg.len());
        if pad.is_some_and(|p| p != end.len()) {
            return Err(format!("host range [{range}] in {pat:?}: zero-padded begin and end must have the same length"));
        }
        let (i, j): (u64, u64) = match (beg.parse(), end.parse()) {
            (Ok(i), Ok(j)) => (i, j),
            _ => {
                return Err(format!(
                "host range [{range}] in {pat:?}: begin and end must be numbers or single letters"
            ))
            }
        };
        if j < i {
            return Err(format!(
                "host range [{range}] in {pat:?} is empty (end before begin)"
            ));
        }
        if (j - i) / step as u64 >= MAX_HOSTS as u64 {
            return Err(format!(
                "host range [{range}] in {pat:?} expands to more than {MAX_HOSTS} hosts"
            ));
        }
        (i..=j)
            .step_by(step)
            .map(|x| match pad {
                Some(w) => format!("{x:0w$}"),
                None => x.to_string(),
            })
            .collect()
    };
    for it in items {
        expand_range(&format!("{head}{it}{tail}"), out)?;
        if out.len() > MAX_HOSTS {
            return Err(format!("{pat:?} expands to more than {MAX_HOSTS} hosts"));
        }
    }
    Ok(())
}

/// Just enough of a YAML tree (mappings, sequences, scalars, anchors, `<<` merges) with the
/// line of each node, built from saphyr-parser's events.
mod yaml {
    use saphyr_parser::{Event, Parser, ScalarStyle};
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    pub enum Y {
        Null,
        Scalar(String),
        Map(Vec<(Node, Node)>),
        /// A list; no inventory key takes one, so only its place is kept.
        Seq,
    }

    #[derive(Debug, Clone)]
    pub struct Node {
        pub v: Y,
        pub line: usize,
    }

    enum Frame {
        Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
        Seq(usize, usize),
    }

    /// The first document, or None when the text holds none. Errors are (line, message).
    pub fn load(text: &str) -> Result<Option<Node>, (usize, String)> {
        let mut p = Parser::new_from_str(text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut anchors: HashMap<usize, Node> = HashMap::new();
        let mut done: Option<Node> = None;
        const MAX_DEPTH: usize = 256;
        while let Some(ev) = p.next_event() {
            let (ev, span) =
                ev.map_err(|e| (e.marker().line(), format!("not valid YAML: {}", e.info())))?;
            let line = span.start.line();
            let node = match ev {
                Event::DocumentEnd if done.is_some() => break,
                Event::MappingStart(a, _) => {
                    stack.push(Frame::Map(Vec::new(), None, a, line));
                    if stack.len() > MAX_DEPTH {
                        return Err((line, "YAML nested too deep".into()));
                    }
                    continue;
                }
                Event::SequenceStart(a, _) => {
                    stack.push(Frame::Seq(a, line));
                    if stack.len() > MAX_DEPTH {
                        return Err((line, "YAML nested too deep".into()));
                    }
                    continue;
                }
                Event::MappingEnd => match stack.pop() {
                    Some(Frame::Map(m, _, a, l)) => {
                        let n = Node {
                            v: Y::Map(m),
                            line: l,
                        };
                        if a != 0 {
                            anchors.insert(a, n.clone());
                        }
                        n
                    }
                    _ => return Err((line, "unbalanced YAML mapping".into())),
                },
                Event::SequenceEnd => match stack.pop() {
                    Some(Frame::Seq(a, l)) => {
                        let n = Node { v: Y::Seq, line: l };
                        if a != 0 {
                            anchors.insert(a, n.clone());
                        }
                        n
                    }
                    _ => return Err((line, "unbalanced YAML sequence".into())),
                },
                Event::Scalar(s, style, a, tag) => {
                    let null = style == ScalarStyle::Plain
                        && tag.is_none()
                        && matches!(s.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                    // A tagged scalar (`!vault |`) keeps its text but not as a plain value.
                    let v = if null {
                        Y::Null
                    } else if tag.as_ref().is_some_and(|t| {
                        t.suffix == "vault" || t.handle == "!" && t.suffix.contains("vault")
                    }) {
                        Y::Scalar(format!("$ANSIBLE_VAULT {s}"))
                    } else {
                        Y::Scalar(s.into_owned())
                    };
                    let n = Node { v, line };
                    if a != 0 {
                        anchors.insert(a, n.clone());
                    }
                    n
                }
                Event::Alias(a) => anchors
                    .get(&a)
                    .cloned()
                    .ok_or((line, "YAML alias to an unknown anchor".to_string()))?,
                _ => continue,
            };
            match stack.last_mut() {
                None => done = Some(node),
                Some(Frame::Seq(..)) => {}
                Some(Frame::Map(m, key, _, _)) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        if matches!(&k.v, Y::Scalar(s) if s == "<<") {
                            // A merge key: entries not already present come from the alias.
                            let merged = match node.v {
                                Y::Map(src) => src,
                                _ => return Err((k.line, "a << merge needs a mapping".into())),
                            };
                            for (mk, mv) in merged {
                                let dup = m.iter().any(|(ek, _)| same(ek, &mk));
                                if !dup {
                                    m.push((mk, mv));
                                }
                            }
                        } else if let Some(slot) = m.iter_mut().find(|(ek, _)| same(ek, &k)) {
                            // A repeated key: the later one wins, as in Ansible (which warns).
                            *slot = (k, node);
                        } else {
                            m.push((k, node));
                        }
                    }
                },
            }
        }
        Ok(done)
    }

    fn same(a: &Node, b: &Node) -> bool {
        matches!((&a.v, &b.v), (Y::Scalar(x), Y::Scalar(y)) if x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> anyhow::Result<Inventory> {
        Inventory::parse(Path::new("hosts.ini"), text)
    }
    fn yml(text: &str) -> anyhow::Result<Inventory> {
        Inventory::parse(Path::new("hosts.yml"), text)
    }
    fn names(v: &[InvHost]) -> Vec<&str> {
        v.iter().map(|h| h.dest.name.as_str()).collect()
    }
    fn err(r: anyhow::Result<Inventory>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    const INI: &str = "\
# the incident's cluster
lonely.example ansible_host=10.0.0.9

[lvs_directors]
lb1 ansible_host=192.168.21.2 ansible_user=admin
lb2 ansible_host=192.168.21.3 ansible_port=2222

[app_servers]
app[1:2] ansible_user=deploy
app3:2200 ansible_host=\"192.168.21.73\"  # trailing comment

[app_servers:vars]
ansible_user=root
ansible_ssh_private_key_file=/keys/app

[dc1:children]
lvs_directors
app_servers

[dc1:vars]
ansible_port=22
";

    #[test]
    fn ini_groups_children_vars_ranges_and_ports() {
        let inv = ini(INI).unwrap();
        let all = inv.select(None).unwrap();
        assert_eq!(
            names(&all),
            ["lonely.example", "lb1", "lb2", "app1", "app2", "app3"]
        );
        let lb1 = &all[1];
        assert_eq!(lb1.dest.address.as_deref(), Some("192.168.21.2"));
        assert_eq!(lb1.dest.user.as_deref(), Some("admin"));
        // dc1's port 22 applies; lb2's own ansible_port wins over it.
        assert_eq!(lb1.dest.port, Some(22));
        assert_eq!(all[2].dest.port, Some(2222));
        assert!(lb1.is_director() && all[2].is_director());
        assert_eq!(lb1.groups, ["dc1", "lvs_directors"]);
        // Host vars (ansible_user=deploy) win over the group's (root).
        assert_eq!(all[3].dest.user.as_deref(), Some("deploy"));
        let app = inv.select(Some("app_servers")).unwrap();
        assert_eq!(names(&app), ["app1", "app2", "app3"]);
        assert!(!app[0].is_director());
        assert_eq!(app[2].dest.port, Some(2200));
        assert_eq!(app[2].dest.address.as_deref(), Some("192.168.21.73"));
        assert_eq!(app[2].dest.user.as_deref(), Some("root"));
        assert_eq!(
            app[2].dest.identity.as_deref(),
            Some(Path::new("/keys/app"))
        );
        assert_eq!(
            names(&inv.select(Some("ungrouped")).unwrap()),
            ["lonely.example"]
        );
        assert_eq!(
            names(&inv.select(Some("lb2,app3")).unwrap()),
            ["lb2", "app3"]
        );
    }

    #[test]
    fn ini_semicolon_after_host_is_not_a_comment() {
        // Ansible's shlex treats only `#` as a comment on host lines.
        let e = err(ini("[a]\nh1 x=1 ; note\n"));
        assert!(e.starts_with("hosts.ini:2:"), "{e}");
        assert!(
            e.contains("expected key=value host variable, got \";\""),
            "{e}"
        );
    }

    #[test]
    fn local_connection_and_default_dest() {
        let inv = ini("[lb]\nlb1 ansible_connection=local\nlb2\n").unwrap();
        let h = inv.select(None).unwrap();
        assert!(h[0].dest.local);
        assert_eq!(h[1].dest, Dest::named("lb2"));
    }

    #[test]
    fn ini_host_vars_win_over_group_vars() {
        let inv =
            ini("[web]\nw1 ansible_user=deploy\nw2\n[web:vars]\nansible_user=root\n").unwrap();
        let h = inv.select(Some("web")).unwrap();
        assert_eq!(h[0].dest.user.as_deref(), Some("deploy"));
        assert_eq!(h[1].dest.user.as_deref(), Some("root"));
    }

    #[test]
    fn ranges_as_ansible_expands_them() {
        let (h, p) = expand_pattern("web[01:03].example.com").unwrap();
        assert_eq!(
            h,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(p, None);
        assert_eq!(expand_pattern("db[a:c]").unwrap().0, ["dba", "dbb", "dbc"]);
        assert_eq!(
            expand_pattern("n[1:9:4]-[a:b]").unwrap().0,
            ["n1-a", "n1-b", "n5-a", "n5-b", "n9-a", "n9-b"]
        );
        assert_eq!(
            expand_pattern("web[1:2]:2222").unwrap(),
            (vec!["web1".into(), "web2".into()], Some(2222))
        );
        assert_eq!(
            expand_pattern("[2001:db8::5]:22").unwrap(),
            (vec!["2001:db8::5".into()], Some(22))
        );
        assert_eq!(
            expand_pattern("2001:db8::5").unwrap(),
            (vec!["2001:db8::5".into()], None)
        );
        for (bad, msg) in [
            ("web[01:3]", "same length"),
            ("web[3:1]", "end before begin"),
            ("web[1]", "begin:end"),
            ("web[1:x]", "numbers or single letters"),
            ("web[1:200000]", "more than 10000"),
            ("web:http", "bad port"),
        ] {
            let e = expand_pattern(bad).unwrap_err();
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }

    #[test]
    fn ini_errors_name_file_and_line() {
        for (text, line, msg) in [
            ("[web\nh1\n", 1, "bad section header"),
            ("[web:foo]\n", 1, "unknown type"),
            ("[web]\nh1 ansible_port=ssh\n", 2, "not a TCP port"),
            ("[web]\nh1 junk\n", 2, "expected key=value"),
            ("[web]\nh1 a='x\n", 2, "unterminated"),
            ("[web:vars]\nx=1\n", 1, "never defined"),
            (
                "[all:children]\nweb\n",
                2,
                "child group web is never defined",
            ),
            ("[a:children]\nb\n[b:children]\na\n", 1, "cycle"),
            (
                "[web]\nh1 ansible_host=\"{{ lookup('x') }}\"\n",
                2,
                "Jinja template",
            ),
            (
                "[web]\nh1 ansible_connection=winrm\n",
                2,
                "ansible_connection=winrm",
            ),
            ("[web]\nh1 lbdoctor_role=boss\n", 2, "use director or real"),
        ] {
            let r = ini(text).and_then(|i| i.select(None).map(|_| i));
            let e = err(r);
            assert!(
                e.starts_with(&format!("hosts.ini:{line}:")),
                "{text:?}: {e}"
            );
            assert!(e.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn limit_names_unknown_group_and_empty_group() {
        let inv = ini("[web]\nw1\n[empty]\n").unwrap();
        let e = format!("{:#}", inv.select(Some("webs")).unwrap_err());
        assert!(
            e.contains("\"webs\" is neither a group nor a host")
                && e.contains("groups: all, empty, ungrouped, web"),
            "{e}"
        );
        let e = format!("{:#}", inv.select(Some("empty")).unwrap_err());
        assert!(e.contains("no hosts in empty"), "{e}");
    }

    const YAML: &str = "\
all:
  vars:
    ansible_user: root
  hosts:
    lonely.example:
  children:
    keepalived:
      hosts:
        lb1: {ansible_host: 192.168.21.2, ansible_port: 2222}
        lb2:
          ansible_host: 192.168.21.3
          lbdoctor_role: real
    realservers:
      vars: &rsvars
        ansible_user: deploy
      hosts:
        app[01:02]:
          ansible_host: 192.168.21.71
        app03:2200:
      children:
        canary:
          hosts:
            app04:
          vars:
            <<: *rsvars
            ansible_ssh_private_key_file: ~/.ssh/canary
";

    #[test]
    fn yaml_groups_children_vars_ranges_anchors() {
        let inv = yml(YAML).unwrap();
        let all = inv.select(None).unwrap();
        assert_eq!(
            names(&all),
            [
                "lonely.example",
                "lb1",
                "lb2",
                "app01",
                "app02",
                "app03",
                "app04"
            ]
        );
        assert_eq!(all[0].dest.user.as_deref(), Some("root"));
        assert_eq!(all[0].groups, ["ungrouped"]);
        assert_eq!(all[1].dest.port, Some(2222));
        assert!(all[1].is_director());
        // lbdoctor_role wins over the group name.
        assert!(!all[2].is_director());
        assert_eq!(all[3].dest.user.as_deref(), Some("deploy"));
        assert_eq!(all[4].dest.address.as_deref(), Some("192.168.21.71"));
        assert_eq!(all[5].dest.port, Some(2200));
        let canary = &all[6];
        assert_eq!(canary.groups, ["canary", "realservers"]);
        assert_eq!(canary.dest.user.as_deref(), Some("deploy"));
        assert!(canary
            .dest
            .identity
            .as_ref()
            .unwrap()
            .ends_with(".ssh/canary"));
        assert_eq!(
            names(&inv.select(Some("realservers")).unwrap()),
            ["app01", "app02", "app03", "app04"]
        );
    }

    #[test]
    fn yaml_errors_name_file_and_line() {
        for (text, line, msg) in [
            ("all:\n  hosts:\n    - a\n    - b\n", 3, "must be a mapping"),
            ("all:\n  hostz:\n    a:\n", 2, "has key \"hostz\""),
            ("all:\n  hosts:\n    a:\n      ansible_port: [1]\n", 4, "not a plain value"),
            ("all:\n  hosts:\n    a: {ansible_port: 0}\n", 3, "not a TCP port"),
            ("all:\n  hosts:\n    a:\n  b: [\n", 5, "not valid YAML"),
            ("- a\n- b\n", 1, "mapping of group names"),
            ("all:\n  hosts:\n    a:\n      ansible_user: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162\n", 4, "vault-encrypted"),
        ] {
            let r = yml(text).and_then(|i| i.select(None).map(|_| i));
            let e = err(r);
            assert!(e.starts_with(&format!("hosts.yml:{line}:")), "{text:?}: {e}");
            assert!(e.contains(msg), "{text:?}: {e}");
        }
        assert!(err(yml("# nothing\n")).contains("empty inventory"));
    }

    #[test]
    fn format_detected_without_extension() {
        let p = Path::new("inventory");
        assert_eq!(
            names(
                &Inventory::parse(p, "all:\n  hosts:\n    a:\n")
                    .unwrap()
                    .select(None)
                    .unwrap()
            ),
            ["a"]
        );
        assert_eq!(
            names(
                &Inventory::parse(p, "a\n[g]\nb\n")
                    .unwrap()
                    .select(None)
                    .unwrap()
            ),
            ["a", "b"]
        );
    }

    #[test]
    fn group_vars_and_host_vars_beside_the_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("hosts");
        std::fs::write(
            &inv,
            "[web]\nw1 ansible_user=inline\nw2\n[web:vars]\nansible_port=2200\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("group_vars/web")).unwrap();
        std::fs::create_dir_all(dir.path().join("host_vars")).unwrap();
        // group_vars/all wins over the inventory's [web:vars]; group_vars/web over all.
        std::fs::write(
            dir.path().join("group_vars/all.yml"),
            "ansible_port: 2300\nansible_user: fromall\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("group_vars/web/10-conn.yml"),
            "ansible_user: fromweb\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("group_vars/web/vault.yml"),
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
        )
        .unwrap();
        // host_vars wins over the inventory's host vars.
        std::fs::write(dir.path().join("host_vars/w1"), "ansible_host: 10.0.0.1\n").unwrap();
        std::fs::write(dir.path().join("host_vars/w2.yaml"), "ansible_port: nope\n").unwrap();
        let h = Inventory::load(&inv).unwrap();
        let e = format!("{:#}", h.select(Some("web")).unwrap_err());
        assert!(
            e.starts_with(&format!(
                "{}:1:",
                dir.path().join("host_vars/w2.yaml").display()
            )),
            "{e}"
        );
        std::fs::write(
            dir.path().join("host_vars/w2.yaml"),
            "ansible_user: w2user\n",
        )
        .unwrap();
        let h = Inventory::load(&inv).unwrap().select(Some("web")).unwrap();
        assert_eq!(h[0].dest.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(h[0].dest.user.as_deref(), Some("inline"));
        assert_eq!(h[0].dest.port, Some(2300));
        assert_eq!(h[1].dest.user.as_deref(), Some("w2user"));
        assert_eq!(h[1].dest.port, Some(2300));
        std::fs::remove_file(dir.path().join("host_vars/w2.yaml")).unwrap();
        let h = Inventory::load(&inv).unwrap().select(Some("web")).unwrap();
        assert_eq!(h[1].dest.user.as_deref(), Some("fromweb"));
    }

    #[test]
    fn director_rule() {
        for g in [
            "lvs_directors",
            "lb",
            "keepalived-nodes",
            "edge.lbs",
            "LoadBalancers",
            "ipvs",
        ] {
            assert!(director_group(g), "{g}");
        }
        for g in [
            "app_servers",
            "lvs_real",
            "lb_backends",
            "web",
            "rs_lb",
            "blb",
        ] {
            assert!(!director_group(g), "{g}");
        }
    }
}
