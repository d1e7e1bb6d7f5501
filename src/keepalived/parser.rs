//! keepalived's process_stream() (lib/parser.c) over the lexer's logical lines, building a
//! compact tree with positions. It reads the way keepalived reads, including its traps:
//! an unknown keyword followed by `{` does not open a block (the `{` is "Unexpected" and
//! ignored), so the body lands on the enclosing block and its `}` closes that block; a value
//! block ends at the first `}` line whatever came before; a block whose handler rejects its
//! address is skipped whole.

use super::keywords::{self, BlockId, Kind};
use super::lexer::{Batch, Diag, Lexer, Line, SourceFile, Tok};
use super::model::Span;
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A known keyword with its arguments on its line.
    Plain,
    /// A known keyword opening a block of keywords.
    Block(BlockId),
    /// A known keyword opening a block of data lines.
    Value,
    /// A data line inside a value block.
    ValueLine,
    /// A keyword keepalived does not know here; it ignores the line.
    Unknown,
    /// A block keepalived skips whole (its handler rejected the line).
    Skipped,
}

/// Read while the block structure is shifted by an earlier misspelt block or missing `}`:
/// keepalived applies the line to a different block than the indentation suggests.
pub const FLAG_DISPLACED: u8 = 1;

#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub tok: u32,
    pub ntok: u32,
    pub file: u32,
    pub line: u32,
    /// Index one past this node's last descendant (pre-order layout).
    pub end: u32,
    pub kind: NodeKind,
    /// The block this node sits in.
    pub parent_block: BlockId,
    pub flags: u8,
    /// Line of the `}` that closed this block (0: never closed, or not a block).
    pub close_line: u32,
    pub close_file: u32,
}

pub struct Document {
    pub files: Vec<SourceFile>,
    pub text: String,
    pub toks: Vec<Tok>,
    pub nodes: Vec<Node>,
    pub diags: Vec<Diag>,
    pub suppressions: Vec<super::lexer::SuppressionComment>,
}

impl Document {
    #[inline]
    pub fn tok(&self, i: u32) -> &str {
        let t = &self.toks[i as usize];
        &self.text[t.start as usize..t.end()]
    }
    #[inline]
    pub fn kw(&self, n: usize) -> &str {
        self.tok(self.nodes[n].tok)
    }
    #[inline]
    pub fn nargs(&self, n: usize) -> usize {
        self.nodes[n].ntok as usize - 1
    }
    /// Argument `i` (0-based, after the keyword).
    #[inline]
    pub fn arg(&self, n: usize, i: usize) -> Option<&str> {
        let node = &self.nodes[n];
        if i + 1 < node.ntok as usize {
            Some(self.tok(node.tok + 1 + i as u32))
        } else {
            None
        }
    }
    pub fn arg_tok(&self, n: usize, i: usize) -> Option<&Tok> {
        let node = &self.nodes[n];
        (i + 1 < node.ntok as usize).then(|| &self.toks[(node.tok + 1 + i as u32) as usize])
    }
    pub fn args(&self, n: usize) -> impl Iterator<Item = &str> + '_ {
        let node = self.nodes[n];
        (node.tok + 1..node.tok + node.ntok).map(move |i| self.tok(i))
    }
    /// All tokens of the line, keyword first.
    pub fn words(&self, n: usize) -> Vec<&str> {
        let node = self.nodes[n];
        (node.tok..node.tok + node.ntok)
            .map(|i| self.tok(i))
            .collect()
    }
    pub fn children(&self, n: usize) -> Children<'_> {
        Children {
            doc: self,
            next: n + 1,
            end: self.nodes[n].end as usize,
        }
    }
    pub fn roots(&self) -> Children<'_> {
        Children {
            doc: self,
            next: 0,
            end: self.nodes.len(),
        }
    }
    pub fn path(&self, file: u32) -> &std::path::Path {
        &self.files[file as usize].path
    }
    pub fn span(&self, n: usize) -> Span {
        let node = &self.nodes[n];
        Span {
            file: self.path(node.file).to_path_buf(),
            line: node.line,
            column: self.toks[node.tok as usize].col(),
        }
    }
    pub fn arg_span(&self, n: usize, i: usize) -> Span {
        let node = &self.nodes[n];
        let col = self
            .arg_tok(n, i)
            .map_or(self.toks[node.tok as usize].col(), |t| t.col());
        Span {
            file: self.path(node.file).to_path_buf(),
            line: node.line,
            column: col,
        }
    }
    pub fn is_block(&self, n: usize) -> bool {
        matches!(self.nodes[n].kind, NodeKind::Block(_) | NodeKind::Value)
    }
}

pub struct Children<'a> {
    doc: &'a Document,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let n = self.next;
        self.next = self.doc.nodes[n].end as usize;
        Some(n)
    }
}

struct Frame {
    node: u32,
    block: BlockId,
    value: bool,
    need_bob: bool,
}

/// The parser's copy of the tokens: batches from the lexer thread are appended here.
#[derive(Default)]
struct Arena {
    text: String,
    toks: Vec<Tok>,
    files: Vec<SourceFile>,
}

impl Arena {
    fn tok_str(&self, t: &Tok) -> &str {
        &self.text[t.start as usize..t.end()]
    }
    /// Drop a line's tokens when they are the last ones (brace lines are not kept).
    fn discard(&mut self, l: &Line) {
        if l.tok_end as usize == self.toks.len() {
            if let Some(t) = self.toks.get(l.tok_start as usize) {
                self.text.truncate(t.start as usize);
            }
            self.toks.truncate(l.tok_start as usize);
        }
    }
    /// Append a batch's tokens, emptying them; its lines get token indices into this arena.
    fn append(&mut self, b: &mut Batch) {
        let base_tok = self.toks.len() as u32;
        let base_text = self.text.len() as u32;
        self.text.push_str(&b.text);
        self.toks
            .extend(b.toks.iter().map(|t| t.rebased(base_text)));
        b.text.clear();
        b.toks.clear();
        for l in &mut b.lines {
            l.tok_start += base_tok;
            l.tok_end += base_tok;
        }
    }
}

/// Lines per batch from the lexer thread.
const BATCH: usize = 4096;

/// Run the lexer, sending its lines in batches; returns it for its files and diagnostics.
/// Batches the parser is done with come back on `spare`: their buffers are reused, so the
/// lexer does not allocate (and grow, and fault in) fresh arenas for every batch.
fn lex(
    mut lexer: Lexer,
    tx: std::sync::mpsc::SyncSender<Batch>,
    spare: std::sync::mpsc::Receiver<Batch>,
) -> Lexer {
    loop {
        let mut lines = match spare.try_recv() {
            Ok(b) => {
                lexer.reuse(b.text, b.toks);
                let mut lines = b.lines;
                lines.clear();
                lines
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let mut done = false;
        while lines.len() < BATCH {
            match lexer.next_line() {
                Some(l) => lines.push(l),
                None => {
                    done = true;
                    break;
                }
            }
        }
        let batch = lexer.take_batch(lines);
        if tx.send(batch).is_err() || done {
            return lexer;
        }
    }
}

/// The cascade after a misspelt block or a missing `}`: one finding carries it all.
struct Cascade {
    diag: usize,
    /// How many levels keepalived's block structure lags the braces.
    levels: u32,
    /// Block depth when it started: lines at or above it are the displaced ones.
    depth: usize,
}

/// Parse everything the lexer reads. The lexer runs on a second thread, a few batches
/// ahead, so reading and tokenizing overlap with building the tree.
pub fn parse(lexer: Lexer) -> Document {
    let top_size = lexer.top_size as usize;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || lex(lexer, tx, spare_rx));
        let mut lx = Arena::default();
        // Untouched capacity costs no memory; growing by doubling costs copies.
        lx.toks.reserve(top_size / 8);
        lx.text.reserve(top_size / 2);
        let mut nodes: Vec<Node> = Vec::with_capacity(top_size / 16);
        let parsed = parse_lines(&mut lx, &mut nodes, rx, spare_tx);
        let lexer = match handle.join() {
            Ok(l) => l,
            Err(p) => std::panic::resume_unwind(p),
        };
        finish(lexer, lx, nodes, parsed)
    })
}

/// What the line loop leaves for the end-of-input checks.
struct Parsed {
    stack: Vec<Frame>,
    diags: Vec<Diag>,
    cascade: Option<Cascade>,
    last_line: (u32, u32),
}

fn parse_lines(
    lx: &mut Arena,
    nodes: &mut Vec<Node>,
    rx: std::sync::mpsc::Receiver<Batch>,
    spare: std::sync::mpsc::Sender<Batch>,
) -> Parsed {
    let table = keywords::table();
    let mut stack: Vec<Frame> = Vec::new();
    let mut diags: Vec<Diag> = Vec::new();
    // keepalived's skip_sublevel: -1 = a `{` may follow, >0 = depth inside a skipped block
    let mut skip: i32 = 0;
    let mut last_unknown: Option<(u32, usize, bool)> = None;
    let mut cascade: Option<Cascade> = None;
    let mut vrrp_names: HashSet<String> = HashSet::new();
    let mut last_line: (u32, u32) = (0, 0);
    // the line's keyword, in a buffer reused across lines
    let mut first = String::new();

    for mut batch in rx.iter() {
        lx.append(&mut batch);
        for &l in &batch.lines {
            last_line = (l.file, l.line);
            first.clear();
            first.push_str(lx.tok_str(&lx.toks[l.tok_start as usize]));
            let is_bob = first == "{" && l.tok_end - l.tok_start == 1;
            let is_eob = first == "}" && l.tok_end - l.tok_start == 1;
            let prev_unknown = last_unknown.take();

            if skip == -1 {
                if is_bob {
                    skip = 1;
                    lx.discard(&l);
                    continue;
                }
                skip = 0;
            }
            if skip > 0 {
                if is_bob {
                    skip += 1;
                } else if is_eob {
                    skip -= 1;
                }
                lx.discard(&l);
                continue;
            }

            let displaced = cascade.is_some();
            let flags = if displaced { FLAG_DISPLACED } else { 0 };

            if let Some(top) = stack.last_mut() {
                if top.value {
                    if top.need_bob {
                        top.need_bob = false;
                        if is_bob {
                            lx.discard(&l);
                            continue;
                        }
                        diags.push(missing_brace(
                            lx,
                            nodes,
                            top.node,
                            &l,
                            "; keepalived reads this line as its first item anyway and the block ends at the next `}`, whichever block that belonged to",
                        ));
                    }
                    if is_eob {
                        let f = stack.pop().expect("frame");
                        close(nodes, f.node, &l);
                        lx.discard(&l);
                        continue;
                    }
                    // data line (a `{` here is data too: value blocks do not nest)
                    push_node(nodes, &l, NodeKind::ValueLine, top.block, flags);
                    continue;
                }
                if top.need_bob {
                    top.need_bob = false;
                    if is_bob {
                        lx.discard(&l);
                        continue;
                    }
                    diags.push(missing_brace(
                        lx,
                        nodes,
                        top.node,
                        &l,
                        " (\"Missing '{' at beginning of configuration block\"); keepalived still reads the following lines into it",
                    ));
                } else if is_bob {
                    if let Some((uline, unode, unknown_diag)) = prev_unknown {
                        // An unknown keyword opened a block: the trap of the misspelt block.
                        let kw = lx.tok_str(&lx.toks[nodes[unode].tok as usize]).to_string();
                        let block = table.block(top.block);
                        let mut msg = format!(
                        "`{kw}` is not a keyword of {}, so keepalived does not open a block here: it ignores the `{{`, reads the lines inside as settings of the {} itself, and the matching `}}` closes the {}",
                        block_desc(&block.path),
                        block_desc(&block.path),
                        block_desc(&block.path)
                    );
                        let mut fix = None;
                        name_invisible(&mut msg, &kw);
                        if let Some(s) = table.suggest(top.block, &kw) {
                            msg.push_str(&format!("; did you mean `{s}`?"));
                            fix = Some(format!("rename `{kw}` to `{s}`"));
                        } else if kw == block.name {
                            let open_line = nodes[top.node as usize].line;
                            msg.push_str(&format!(
                                "; the {} opened at {} is probably missing its closing `}}`",
                                block.name,
                                lref(nodes[top.node as usize].file, open_line)
                            ));
                            fix = Some(format!(
                                "add the missing `}}` before {}",
                                lref(nodes[unode].file, uline)
                            ));
                        } else if let Some(home) = table.blocks_with(&kw).first() {
                            msg.push_str(&format!("; `{kw}` belongs in {}", block_desc(home)));
                        }
                        // replace the unknown-keyword finding of that line
                        if diags
                            .last()
                            .is_some_and(|d| d.id == "LB002" && d.line == uline && unknown_diag)
                        {
                            diags.pop();
                        }
                        match &mut cascade {
                            Some(c) => {
                                c.levels += 1;
                                let prefix = format!("{}:", lref(nodes[unode].file, uline));
                                if diags[c.diag]
                                    .evidence
                                    .last()
                                    .is_some_and(|e| e.starts_with(&prefix))
                                {
                                    diags[c.diag].evidence.pop();
                                }
                                note(
                                    &mut diags[c.diag],
                                    format!(
                                        "{}: `{kw} {{` shifts the structure one more level",
                                        lref(nodes[unode].file, uline)
                                    ),
                                );
                            }
                            None => {
                                let mut d = diag_node(lx, &nodes[unode], "LB004", msg);
                                d.fix = fix;
                                diags.push(d);
                                cascade = Some(Cascade {
                                    diag: diags.len() - 1,
                                    levels: 1,
                                    depth: stack.len(),
                                });
                            }
                        }
                        lx.discard(&l);
                        continue;
                    }
                    let d = diag_at(
                    lx,
                    &l,
                    "LB003",
                    "unexpected `{` (\"Unexpected '{' - ignoring\"); keepalived ignores it, and its `}` will close the enclosing block".into(),
                );
                    match &mut cascade {
                        Some(c) => {
                            c.levels += 1;
                            diags[c.diag]
                                .evidence
                                .push(format!("{}: stray `{{`", lref(l.file, l.line)));
                        }
                        None => {
                            diags.push(d);
                            cascade = Some(Cascade {
                                diag: diags.len() - 1,
                                levels: 1,
                                depth: stack.len(),
                            });
                        }
                    }
                    lx.discard(&l);
                    continue;
                }
                if is_eob {
                    let f = stack.pop().expect("frame");
                    close(nodes, f.node, &l);
                    lx.discard(&l);
                    continue;
                }
            } else if is_bob {
                if let Some((uline, unode, unknown_diag)) = prev_unknown {
                    let kw = lx.tok_str(&lx.toks[nodes[unode].tok as usize]).to_string();
                    let mut msg = format!(
                    "`{kw}` is not a top-level keyword, so keepalived ignores the `{{` and reads the lines inside as top-level keywords; the matching `}}` is an extra `}}`"
                );
                    name_invisible(&mut msg, &kw);
                    if let Some(s) = table.suggest(BlockId::ROOT, &kw) {
                        msg.push_str(&format!("; did you mean `{s}`?"));
                    } else if let Some(home) = table.blocks_with(&kw).first() {
                        msg.push_str(&format!("; `{kw}` belongs in {}", block_desc(home)));
                    }
                    if diags
                        .last()
                        .is_some_and(|d| d.id == "LB002" && d.line == uline && unknown_diag)
                    {
                        diags.pop();
                    }
                    match &mut cascade {
                        Some(c) => {
                            c.levels += 1;
                            note(
                                &mut diags[c.diag],
                                format!(
                                    "line {uline}: `{kw} {{` shifts the structure one more level"
                                ),
                            );
                        }
                        None => {
                            diags.push(diag_node(lx, &nodes[unode], "LB004", msg));
                            cascade = Some(Cascade {
                                diag: diags.len() - 1,
                                levels: 1,
                                depth: stack.len(),
                            });
                        }
                    }
                } else {
                    diags.push(diag_at(
                        lx,
                        &l,
                        "LB003",
                        "unexpected `{` at top level (\"Unexpected '{' - ignoring\")".into(),
                    ));
                    cascade.get_or_insert(Cascade {
                        diag: diags.len() - 1,
                        levels: 0,
                        depth: 0,
                    });
                    if let Some(c) = &mut cascade {
                        c.levels += 1;
                    }
                }
                lx.discard(&l);
                continue;
            } else if is_eob {
                match &mut cascade {
                Some(c) => {
                    c.levels = c.levels.saturating_sub(1);
                    note(
                        &mut diags[c.diag],
                        format!(
                            "{}: this `}}` has no block left to close (\"Extra '}}' found\")",
                            lref(l.file, l.line)
                        ),
                    );
                    if c.levels == 0 {
                        cascade = None;
                    }
                }
                None => diags.push(diag_at(
                    lx,
                    &l,
                    "LB003",
                    "extra `}` with no block to close (\"Extra '}' found\"); keepalived ignores it"
                        .into(),
                )),
            }
                lx.discard(&l);
                continue;
            }

            // A keyword line in the current keyword block.
            let block = stack.last().map_or(BlockId::ROOT, |f| f.block);
            match table.lookup(block, &first) {
                Some(Kind::Block(child)) => {
                    let idx = nodes.len() as u32;
                    let path = &table.block(child).path;
                    if let Some(reason) = skip_reason(lx, &l, path, &mut vrrp_names) {
                        push_node(nodes, &l, NodeKind::Skipped, block, flags);
                        let n = nodes.len() - 1;
                        diags.push(diag_node(
                            lx,
                            &nodes[n],
                            "LB010",
                            format!("{reason}; keepalived skips this whole block"),
                        ));
                        skip = -1;
                        continue;
                    }
                    push_node(nodes, &l, NodeKind::Block(child), block, flags);
                    if let (Some(c), Some(top)) = (&cascade, stack.last()) {
                        if stack.len() <= c.depth {
                            let owner = &nodes[top.node as usize];
                            let owner_kw = lx.tok_str(&lx.toks[owner.tok as usize]).to_string();
                            note(
                                &mut diags[c.diag],
                                format!(
                                "{}: the `{first}` block is read into the {owner_kw} opened at {}",
                                lref(l.file, l.line), lref(owner.file, owner.line)
                            ),
                            );
                        }
                    }
                    stack.push(Frame {
                        node: idx,
                        block: child,
                        value: false,
                        need_bob: true,
                    });
                }
                Some(Kind::Value) => {
                    let idx = nodes.len() as u32;
                    push_node(nodes, &l, NodeKind::Value, block, flags);
                    let nargs = l.tok_end - l.tok_start - 1;
                    // virtual_server_group NAME is the one value block with a name
                    let allowed = u32::from(first == "virtual_server_group");
                    if nargs > allowed {
                        let extra = lx
                            .tok_str(&lx.toks[(l.tok_start + 1 + allowed) as usize])
                            .to_string();
                        diags.push(diag_at(
                        lx,
                        &l,
                        "LB003",
                        format!("block `{first}` has extra parameters `{extra}` ...; its items belong inside `{{ }}` on the following lines"),
                    ));
                    }
                    stack.push(Frame {
                        node: idx,
                        block,
                        value: true,
                        need_bob: true,
                    });
                }
                Some(Kind::Plain) => {
                    push_node(nodes, &l, NodeKind::Plain, block, flags);
                    if let (Some(c), Some(top)) = (
                        &cascade,
                        stack
                            .last()
                            .filter(|_| stack.len() <= cascade.as_ref().map_or(0, |c| c.depth)),
                    ) {
                        let owner = &nodes[top.node as usize];
                        let owner_kw = lx.tok_str(&lx.toks[owner.tok as usize]).to_string();
                        let text: Vec<&str> = (l.tok_start..l.tok_end)
                            .map(|i| lx.tok_str(&lx.toks[i as usize]))
                            .collect();
                        note(
                            &mut diags[c.diag],
                            format!(
                                "{}: `{}` is applied to the {owner_kw} opened at {}",
                                lref(l.file, l.line),
                                text.join(" "),
                                lref(owner.file, owner.line)
                            ),
                        );
                    }
                }
                None => {
                    push_node(nodes, &l, NodeKind::Unknown, block, flags);
                    let n = nodes.len() - 1;
                    last_unknown = Some((l.line, n, cascade.is_none()));
                    if let Some(c) = &cascade {
                        note(
                        &mut diags[c.diag],
                        format!(
                            "{}: `{first}` is then read in the wrong block (\"Unknown keyword '{first}'\")",
                            lref(l.file, l.line)
                        ),
                    );
                    } else {
                        diags.push(unknown_keyword(lx, &nodes[n], block, &first));
                    }
                }
            }
        }
        // the lexer reuses the emptied buffers (it may have finished: then they just drop)
        let _ = spare.send(batch);
    }
    Parsed {
        stack,
        diags,
        cascade,
        last_line,
    }
}

fn finish(mut lexer: Lexer, mut lx: Arena, mut nodes: Vec<Node>, parsed: Parsed) -> Document {
    let Parsed {
        stack,
        mut diags,
        cascade,
        last_line,
    } = parsed;
    lx.files = std::mem::take(&mut lexer.files);
    // Blocks still open at the end of input hold everything after them.
    let total = nodes.len() as u32;
    for f in &stack {
        nodes[f.node as usize].end = total;
    }
    if !stack.is_empty() {
        let missing = stack.len() as u32 + cascade.as_ref().map_or(0, |c| c.levels);
        let outer = stack[0].node as usize;
        let kw = lx.tok_str(&lx.toks[nodes[outer].tok as usize]).to_string();
        let open: Vec<String> = stack
            .iter()
            .map(|f| {
                let n = &nodes[f.node as usize];
                format!(
                    "`{}` opened at {}:{} is never closed",
                    lx.tok_str(&lx.toks[n.tok as usize]),
                    lx.files[n.file as usize].path.display(),
                    n.line
                )
            })
            .collect();
        let mut d = diag_node(
            &lx,
            &nodes[outer],
            "LB003",
            format!(
                "{missing} `}}` missing at end of input (\"There are {missing} missing '}}'s or extra '{{'s\"): everything after the gap is read inside `{kw}`"
            ),
        );
        d.evidence = open;
        d.evidence.push(format!(
            "input ends at {}:{}",
            lx.files[last_line.0 as usize].path.display(),
            last_line.1
        ));
        diags.push(d);
    }
    let mut all = std::mem::take(&mut lexer.diags);
    all.extend(diags);
    for d in &mut all {
        resolve_refs(&mut d.message, &lx.files);
        for e in &mut d.evidence {
            resolve_refs(e, &lx.files);
        }
        if let Some(f) = &mut d.fix {
            resolve_refs(f, &lx.files);
        }
    }
    let suppressions = std::mem::take(&mut lexer.suppressions);
    Document {
        files: lx.files,
        text: lx.text,
        toks: lx.toks,
        nodes,
        diags: all,
        suppressions,
    }
}

/// A reference to a line, resolved by resolve_refs() once the files are known: "line N"
/// for a single file, "path:N" when an include set spans files (a bare line number would
/// be ambiguous there).
fn lref(file: u32, line: u32) -> String {
    format!("\u{1}{file}:{line}\u{1}")
}

fn resolve_refs(s: &mut String, files: &[SourceFile]) {
    if !s.contains('\u{1}') {
        return;
    }
    let mut out = String::with_capacity(s.len());
    let mut parts = s.split('\u{1}');
    out.push_str(parts.next().unwrap_or(""));
    while let Some(r) = parts.next() {
        let (file, line) = r.split_once(':').unwrap_or(("0", r));
        let path = file
            .parse::<usize>()
            .ok()
            .and_then(|i| files.get(i))
            .map(|f| f.path.display().to_string());
        match path {
            Some(p) if files.len() > 1 => out.push_str(&format!("{p}:{line}")),
            _ => out.push_str(&format!("line {line}")),
        }
        out.push_str(parts.next().unwrap_or(""));
    }
    *s = out;
}

/// Add a line of cascade evidence, keeping the finding readable on a long cascade.
fn note(d: &mut Diag, line: String) {
    const MAX: usize = 25;
    if d.evidence.len() < MAX {
        d.evidence.push(line);
    } else if d.evidence.len() == MAX {
        d.evidence
            .push("... (more lines are displaced the same way)".to_string());
    }
}

fn block_desc(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        path.rsplit('.').next().unwrap_or(path).to_string()
    }
}

fn push_node(nodes: &mut Vec<Node>, l: &Line, kind: NodeKind, parent_block: BlockId, flags: u8) {
    let idx = nodes.len() as u32;
    nodes.push(Node {
        tok: l.tok_start,
        ntok: l.tok_end - l.tok_start,
        file: l.file,
        line: l.line,
        end: idx + 1,
        kind,
        parent_block,
        flags,
        close_line: 0,
        close_file: 0,
    });
}

/// A block node ends after the last node pushed so far.
fn close(nodes: &mut [Node], node: u32, l: &Line) {
    let end = nodes.len() as u32;
    let n = &mut nodes[node as usize];
    n.end = end;
    n.close_line = l.line;
    n.close_file = l.file;
}

/// LB003 at line `l`: the block keyword at node `opener` is not followed by `{`; `tail`
/// says what keepalived does next (it differs for value blocks and ordinary blocks).
fn missing_brace(lx: &Arena, nodes: &[Node], opener: u32, l: &Line, tail: &str) -> Diag {
    let o = &nodes[opener as usize];
    let kw = lx.tok_str(&lx.toks[o.tok as usize]);
    let message = format!(
        "`{kw}` ({}) is not followed by `{{`{tail}",
        lref(o.file, o.line)
    );
    diag_at(lx, l, "LB003", message)
}

fn diag_at(lx: &Arena, l: &Line, id: &'static str, message: String) -> Diag {
    let t = &lx.toks[l.tok_start as usize];
    Diag {
        id,
        file: l.file,
        line: l.line,
        col: t.col(),
        len: t.byte_len().max(1),
        message,
        evidence: Vec::new(),
        fix: None,
    }
}

fn diag_node(lx: &Arena, n: &Node, id: &'static str, message: String) -> Diag {
    let t = &lx.toks[n.tok as usize];
    Diag {
        id,
        file: n.file,
        line: n.line,
        col: t.col(),
        len: t.byte_len().max(1),
        message,
        evidence: Vec::new(),
        fix: None,
    }
}

fn unknown_keyword(lx: &Arena, n: &Node, block: BlockId, kw: &str) -> Diag {
    let table = keywords::table();
    let path = &table.block(block).path;
    let mut msg = format!(
        "keepalived does not know `{kw}` in {} and ignores the line (\"Unknown keyword '{kw}'\")",
        block_desc(path)
    );
    let mut fix = None;
    if let Some((shown, names)) = invisible(kw) {
        // "does not know `  `" says nothing: name what is there
        let clean: String = kw
            .chars()
            .filter(|c| invisible_name(*c).is_none())
            .collect();
        msg = format!(
            "keepalived does not know `{shown}` in {} and ignores the line: the word contains {names}, which keepalived does not treat as a space (it splits words on ASCII blanks only), so it is part of the keyword",
            block_desc(path)
        );
        fix = Some(if clean.is_empty() {
            "delete the invisible characters at the start of the line (retype the indentation with ASCII spaces)".to_string()
        } else {
            format!("retype the line so the keyword is plain `{clean}`, without the invisible characters")
        });
        if kw.starts_with('\u{feff}') && n.line == 1 {
            msg.push_str(
                "; here the file starts with a byte order mark: save it as UTF-8 without BOM",
            );
        }
    } else if kw == "}" {
        msg = "extra `}` at top level: keepalived ignores it (\"Unknown keyword '}'\")".into();
    } else if let Some((why, new)) = removed_keyword(kw) {
        // a removed keyword: its replacement, not a look-alike
        msg.push_str(&format!("; {why}"));
        fix = new.map(|n| format!("replace `{kw}` with {n}"));
    } else if let Some(s) = table.suggest(block, kw) {
        msg.push_str(&format!("; did you mean `{s}`?"));
        fix = Some(format!("rename `{kw}` to `{s}`"));
    } else {
        let homes = table.blocks_with(kw);
        if !homes.is_empty() {
            let names: Vec<String> = homes.iter().take(3).map(|h| block_desc(h)).collect();
            msg.push_str(&format!("; `{kw}` is a keyword of {}", names.join(", ")));
            fix = Some(format!("move `{kw}` into the block it belongs to"));
        }
    }
    let mut d = diag_node(lx, n, "LB002", msg);
    d.fix = fix;
    d
}

/// The name of a character that looks like nothing (or like a space) in a terminal.
fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{a0}' => "U+00A0 NO-BREAK SPACE",
        '\u{feff}' => "U+FEFF BYTE ORDER MARK (BOM)",
        '\u{200b}' => "U+200B ZERO WIDTH SPACE",
        '\u{200c}' => "U+200C ZERO WIDTH NON-JOINER",
        '\u{200d}' => "U+200D ZERO WIDTH JOINER",
        '\u{2060}' => "U+2060 WORD JOINER",
        '\u{ad}' => "U+00AD SOFT HYPHEN",
        '\u{3000}' => "U+3000 IDEOGRAPHIC SPACE",
        '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' => "a Unicode space (U+2000-U+205F)",
        '\t' => "a tab",
        '\r' => "a carriage return (a Windows line end)",
        c if c.is_control() => "a control character",
        _ => return None,
    })
}

/// Show the invisible characters of `kw` in a message that quotes it, and name them.
fn name_invisible(msg: &mut String, kw: &str) {
    if let Some((shown, names)) = invisible(kw) {
        *msg = msg.replacen(&format!("`{kw}`"), &format!("`{shown}`"), 1);
        msg.push_str(&format!(
            "; the word contains {names}, which keepalived does not treat as a space"
        ));
        if kw.starts_with('\u{feff}') {
            msg.push_str(
                " (a byte order mark at the start of the file: save it as UTF-8 without BOM)",
            );
        }
    }
}

/// `kw` with its invisible characters shown as <U+XXXX>, and their names; None when it has
/// none.
fn invisible(kw: &str) -> Option<(String, String)> {
    let mut names: Vec<&str> = Vec::new();
    let mut shown = String::with_capacity(kw.len());
    for c in kw.chars() {
        match invisible_name(c) {
            Some(name) => {
                shown.push_str(&format!("<U+{:04X}>", c as u32));
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => shown.push(c),
        }
    }
    (!names.is_empty()).then(|| (shown, names.join(" and ")))
}

/// Keywords that older keepalived versions accepted, with their replacement (checked in
/// acassen/keepalived's history: lvs_id is in global_parser.c up to v1.1.7, nat_mask was
/// removed by a21be2e1 "Remove nat_mask configuration parameter", first in v1.2.20).
fn removed_keyword(kw: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match kw {
        "lvs_id" => (
            "use `router_id`: `lvs_id` was replaced by `router_id` in keepalived 1.1.8",
            Some("`router_id`"),
        ),
        "nat_mask" => (
            "`nat_mask` was removed in keepalived 1.2.20 (it had no effect on LVS); delete the line",
            None,
        ),
        "lb_flags" => (
            "`lb_flags` was replaced by one keyword per flag (sh-port, sh-fallback, ...)",
            None,
        ),
        "nb_get_retry" => (
            "`nb_get_retry` is only accepted inside HTTP_GET/SSL_GET; use `retry`",
            Some("`retry`"),
        ),
        "dynamic" => (
            "FILE_CHECK `dynamic` is documented but keepalived installs no handler for it",
            None,
        ),
        _ => return None,
    })
}

fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next()?;
    s.parse().ok()
}

/// The handlers that call skip_block(true) (check_parser.c, check_data.c, vrrp_parser.c).
fn skip_reason(
    lx: &Arena,
    l: &Line,
    path: &str,
    vrrp_names: &mut HashSet<String>,
) -> Option<String> {
    let arg = |i: u32| -> Option<&str> {
        (l.tok_start + 1 + i < l.tok_end)
            .then(|| lx.tok_str(&lx.toks[(l.tok_start + 1 + i) as usize]))
    };
    match path {
        "virtual_server" => {
            let p1 = arg(0)?;
            if p1 == "group" {
                return None;
            }
            if p1 == "fwmark" {
                let ok = arg(1).and_then(|m| m.parse::<u32>().ok()).is_some();
                return (!ok).then(|| {
                    format!(
                        "virtual server fwmark `{}` is not a number",
                        arg(1).unwrap_or("")
                    )
                });
            }
            addr_port_error(
                p1,
                arg(1),
                "Invalid virtual server IP address",
                "Invalid virtual server IP address/port",
            )
        }
        "virtual_server.real_server" => addr_port_error(
            arg(0).unwrap_or(""),
            arg(1),
            "Invalid real server ip address/port",
            "Invalid real server ip address/port",
        ),
        "vrrp_instance" => {
            if l.tok_end - l.tok_start != 2 {
                return Some(
                    "vrrp_instance must have exactly one name (\"vrrp_instance must have a name\")"
                        .into(),
                );
            }
            let name = arg(0)?.to_string();
            if !vrrp_names.insert(name.clone()) {
                return Some(format!("vrrp_instance {name} is already defined (\"vrrp instance {name} already defined\")"));
            }
            None
        }
        _ => None,
    }
}

/// Why keepalived skips a block opened by `IP [PORT]`, quoting the message it logs, or None.
fn addr_port_error(ip: &str, port: Option<&str>, bad_ip: &str, bad_port: &str) -> Option<String> {
    if parse_ip(ip).is_none() {
        return Some(format!("`{ip}` is not an IP address (\"{bad_ip}\")"));
    }
    match port {
        Some(p) if p.parse::<u16>().is_err() => {
            Some(format!("`{p}` is not a port (\"{bad_port}\")"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keepalived::lexer::Limits;

    pub(crate) fn parse_str(text: &str) -> Document {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keepalived.conf");
        std::fs::write(&p, text).unwrap();
        let mut lx = Lexer::new(Limits::default(), None, None);
        lx.open_top(&p).unwrap();
        parse(lx)
    }

    fn outline(d: &Document) -> Vec<String> {
        fn walk(d: &Document, n: usize, depth: usize, out: &mut Vec<String>) {
            out.push(format!("{}{}", "  ".repeat(depth), d.words(n).join(" ")));
            for c in d.children(n) {
                walk(d, c, depth + 1, out);
            }
        }
        let mut out = Vec::new();
        for r in d.roots() {
            walk(d, r, 0, &mut out);
        }
        out
    }

    #[test]
    fn nested_blocks_and_value_blocks() {
        let d = parse_str(
            "vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\nvirtual_server 192.0.2.1 80 {\n real_server 10.0.0.1 80 { weight 2 }\n}\n",
        );
        assert_eq!(
            outline(&d),
            [
                "vrrp_instance VI_1",
                "  state MASTER",
                "  virtual_ipaddress",
                "    192.0.2.1/24",
                "virtual_server 192.0.2.1 80",
                "  real_server 10.0.0.1 80",
                "    weight 2"
            ]
        );
        assert!(d.diags.is_empty(), "{:?}", d.diags);
    }

    #[test]
    fn misspelt_block_lands_on_parent_and_closes_it() {
        let d = parse_str(
            "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHEK {\n      connect_timeout 3\n    }\n    weight 2\n  }\n  real_server 10.0.0.3 80 {\n  }\n}\n",
        );
        assert_eq!(
            outline(&d),
            [
                "virtual_server 10.0.0.1 80",
                "  real_server 10.0.0.2 80",
                "    TCP_CHEK",
                "    connect_timeout 3",
                "  weight 2",
                "real_server 10.0.0.3 80",
            ]
        );
        let ids: Vec<_> = d.diags.iter().map(|d| (d.id, d.line)).collect();
        assert_eq!(ids, [("LB004", 3)], "{:?}", d.diags);
        assert!(d.diags[0].message.contains("did you mean `TCP_CHECK`"));
        assert!(d.diags[0].evidence.iter().any(|e| e.starts_with("line 8:")));
        assert!(d.diags[0]
            .evidence
            .iter()
            .any(|e| e.starts_with("line 10:")));
    }

    #[test]
    fn unknown_keyword_suggests() {
        let d =
            parse_str("virtual_server 10.0.0.1 80 {\n  lvs_shed rr\n  nat_mask 255.255.255.0\n}\n");
        assert_eq!(d.diags.len(), 2);
        assert!(d.diags[0].message.contains("did you mean `lvs_sched`"));
        assert!(d.diags[1].message.contains("removed in keepalived 1.2.20"));
    }

    #[test]
    fn invisible_characters_are_named() {
        let d = parse_str("global_defs {\n\u{a0}\u{a0}router_id a\n}\n");
        assert_eq!(d.diags.len(), 1, "{:?}", d.diags);
        let m = &d.diags[0].message;
        assert!(m.contains("U+00A0 NO-BREAK SPACE"), "{m}");
        assert!(m.contains("`<U+00A0><U+00A0>router_id`"), "{m}");
        let d = parse_str("\u{feff}global_defs {\n}\n");
        assert!(
            d.diags[0].message.contains("byte order mark"),
            "{:?}",
            d.diags
        );
    }

    #[test]
    fn line_references_name_the_file_in_an_include_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vs.conf"),
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n weight 1\n real_server 10.0.0.3 80 {\n }\n}\n",
        )
        .unwrap();
        let top = dir.path().join("keepalived.conf");
        std::fs::write(&top, "include vs.conf\n").unwrap();
        let mut lx = Lexer::new(Limits::default(), None, None);
        lx.open_top(&top).unwrap();
        let d = parse(lx);
        let lb004 = d.diags.iter().find(|d| d.id == "LB004").expect("LB004");
        assert!(
            lb004.message.contains("vs.conf:2 is probably missing"),
            "{}",
            lb004.message
        );
        assert!(!lb004.message.contains("line 2"), "{}", lb004.message);
    }

    #[test]
    fn missing_and_extra_braces() {
        let d = parse_str("global_defs {\n  router_id a\n");
        assert_eq!(d.diags.len(), 1);
        assert_eq!((d.diags[0].id, d.diags[0].line), ("LB003", 1));
        let d = parse_str("global_defs {\n}\n}\n");
        assert_eq!((d.diags[0].id, d.diags[0].line), ("LB003", 3));
    }

    #[test]
    fn invalid_address_skips_block() {
        let d = parse_str("virtual_server a.b.c.d 80 {\n  lvs_sched rr\n  junk { x }\n}\nvirtual_server 10.0.0.1 80 {\n}\n");
        assert_eq!(
            outline(&d),
            ["virtual_server a.b.c.d 80", "virtual_server 10.0.0.1 80"]
        );
        assert_eq!(d.diags.len(), 1);
        assert_eq!(d.diags[0].id, "LB010");
    }
}
