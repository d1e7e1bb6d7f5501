//! keepalived's read_line() (lib/parser.c), rebuilt with positions: it turns files into
//! logical lines of tokens exactly as keepalived sees them.
//!
//! Per physical line, in keepalived's order: the 1024-byte buffer limit (fgets chunks of
//! 1023 bytes: full chunks are dropped, the tail is read as a line of its own), embedded NULs,
//! comment removal (`#`/`!` anywhere outside double quotes; `\#` and `\!` are literal),
//! `@id` conditional lines, `$NAME=value` definitions (with `\` continuation), `~SEQ`/`~LST`
//! repetition, `$NAME`/`${NAME}` substitution, `include` with globs, and finally the split at
//! the first unquoted `{` or `}` so that every brace becomes a logical line of its own.
//!
//! Memory is bounded: files are streamed in 1023-byte chunks, and limits cap include depth,
//! file count, file size and tokens. Nothing here panics on bad input; problems become
//! diagnostics with file:line.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// keepalived's MAXBUF: fgets reads at most MAXBUF-1 bytes.
pub const MAXBUF: usize = 1024;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_include_depth: usize,
    pub max_files: usize,
    /// Per file; larger files are reported and not read.
    pub max_file_bytes: u64,
    /// Over all files.
    pub max_total_bytes: u64,
    pub max_tokens: usize,
    /// Lines a ~SEQ/~LST may generate.
    pub max_generated_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_include_depth: 32,
            max_files: 1024,
            max_file_bytes: 256 << 20,
            max_total_bytes: 256 << 20,
            max_tokens: 24_000_000,
            max_generated_lines: 1_000_000,
        }
    }
}

/// One token: a slice of `Lexer::text`, with its 1-based byte column in the source line.
/// Packed into 8 bytes: a large config has millions of tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tok {
    pub start: u32,
    len: u16,
    /// Column in the low 15 bits, "was quoted" in the top bit.
    col_q: u16,
}

impl Tok {
    pub fn new(start: u32, len: usize, col: u32, quoted: bool) -> Tok {
        Tok {
            start,
            len: len.min(u16::MAX as usize) as u16,
            col_q: (col.min(0x7fff) as u16) | if quoted { 0x8000 } else { 0 },
        }
    }
    /// Length in bytes.
    pub fn byte_len(&self) -> u32 {
        u32::from(self.len)
    }
    #[inline]
    pub fn col(&self) -> u32 {
        u32::from(self.col_q & 0x7fff)
    }
    pub fn quoted(&self) -> bool {
        self.col_q & 0x8000 != 0
    }
    #[inline]
    pub fn end(&self) -> usize {
        self.start as usize + self.len as usize
    }
    /// The same token in an arena where this one's text starts `base` bytes later.
    pub fn rebased(self, base: u32) -> Tok {
        Tok {
            start: self.start + base,
            ..self
        }
    }
}

/// A problem found while reading, before keywords are known.
#[derive(Clone, Debug)]
pub struct Diag {
    pub id: &'static str,
    pub file: u32,
    pub line: u32,
    /// 1-based byte column; 0 = whole line.
    pub col: u32,
    pub len: u32,
    pub message: String,
    pub evidence: Vec<String>,
    pub fix: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// (file index, line) of the include line that pulled this file in.
    pub included_from: Option<(u32, u32)>,
    /// Byte offset of lines 1, 1 + LINE_INDEX_STEP, ...: snippets are read back from there.
    pub line_index: Vec<u64>,
}

/// One offset per this many lines in SourceFile::line_index.
pub const LINE_INDEX_STEP: u32 = 64;

/// Lines with their tokens, in arenas of their own, passed from the lexer thread.
pub struct Batch {
    pub lines: Vec<Line>,
    pub toks: Vec<Tok>,
    pub text: String,
}

/// A `# lbdoctor: ignore IDS` comment. No ids = every check.
#[derive(Clone, Debug)]
pub struct SuppressionComment {
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub ids: Vec<String>,
    /// The comment is alone on its line: it applies to the next line (and its block).
    pub own_line: bool,
}

/// A logical line: tokens `toks[tok_start..tok_end]`.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub file: u32,
    pub line: u32,
    pub tok_start: u32,
    pub tok_end: u32,
    /// The line came from a `$` substitution or ~SEQ expansion (columns are approximate).
    pub generated: bool,
}

/// Text with the source column of every byte. Most lines are only trimmed, so columns stay
/// implicit (`base + index + 1`) until an edit inside the line needs them explicit.
#[derive(Clone, Debug, Default)]
struct Work {
    text: Vec<u8>,
    cols: Vec<u32>,
    base: u32,
    explicit: bool,
}

impl Work {
    fn explicit(text: Vec<u8>, col: u32) -> Work {
        let cols = vec![col; text.len()];
        Work {
            text,
            cols,
            base: 0,
            explicit: true,
        }
    }
    fn col_at(&self, i: usize) -> u32 {
        if self.explicit {
            self.cols.get(i).or(self.cols.last()).copied().unwrap_or(1)
        } else {
            self.base + i.min(self.text.len().saturating_sub(1)) as u32 + 1
        }
    }
    /// Make every column explicit before an edit that moves bytes around.
    fn materialize(&mut self) {
        if !self.explicit {
            self.cols.clear();
            self.cols
                .extend((0..self.text.len() as u32).map(|i| self.base + i + 1));
            self.explicit = true;
        }
    }
    fn drain_front(&mut self, n: usize) {
        self.text.drain(..n);
        if self.explicit {
            self.cols.drain(..n);
        } else {
            self.base += n as u32;
        }
    }
    fn truncate(&mut self, n: usize) {
        self.text.truncate(n);
        if self.explicit {
            self.cols.truncate(n);
        }
    }
    fn trim_end(&mut self) {
        while self.text.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
            self.text.pop();
        }
        if self.explicit {
            self.cols.truncate(self.text.len());
        }
    }
    fn reset(&mut self) {
        self.text.clear();
        self.cols.clear();
        self.base = 0;
        self.explicit = false;
    }
}

struct Pending {
    work: Work,
    file: u32,
    line: u32,
    generated: bool,
}

struct Frame {
    file: u32,
    reader: BufReader<Box<dyn Read + Send>>,
    line: u32,
    /// Canonical path, for include cycle detection.
    canon: PathBuf,
    dir: PathBuf,
    nul_lines: u32,
    /// Bytes read so far.
    offset: u64,
    /// Further files matched by the same include, opened when this one ends (as keepalived's
    /// get_next_file() does), so cycles are checked against the stack at that moment.
    siblings: VecDeque<PendingInclude>,
}

struct PendingInclude {
    path: PathBuf,
    size: u64,
    from_file: u32,
    from_line: u32,
    col: u32,
    pattern_len: u32,
}

struct Definition {
    name: Vec<u8>,
    value: Vec<u8>,
    multiline: bool,
}

/// A ~SEQ or ~LST repetition in progress.
struct Seq {
    text: Work,
    file: u32,
    line: u32,
    /// (var names, values per iteration)
    vars: Vec<Vec<u8>>,
    rows: VecDeque<Vec<Vec<u8>>>,
}

pub struct Lexer {
    /// Bytes of the top file, for capacity estimates.
    pub top_size: u64,
    /// Tokens already handed out in earlier batches (see parser::parse).
    pub tokens_before: usize,
    pub files: Vec<SourceFile>,
    pub text: String,
    pub toks: Vec<Tok>,
    pub diags: Vec<Diag>,
    /// `# lbdoctor: ignore ...` comments.
    pub suppressions: Vec<SuppressionComment>,
    limits: Limits,
    config_id: Option<String>,
    include_root: Option<PathBuf>,
    /// Absolute include prefixes to read from elsewhere (/etc/keepalived -> a copy).
    pub include_map: Vec<(PathBuf, PathBuf)>,
    /// The config came from another host: includes resolve only inside `include_root` (a
    /// copy of the files gathered from that host), and `..` cannot climb out of it, so a
    /// hostile `include /home/*/.ssh/id_*` never reads the operator's own files.
    pub confined: bool,
    stack: Vec<Frame>,
    residue: Option<Pending>,
    pool: Vec<Work>,
    /// Expansions of multi-line definitions in progress, innermost last, each with the
    /// number of ~SEQ repetitions active when it started (keepalived's multiline_stack).
    multiline: Vec<(VecDeque<Pending>, usize)>,
    seqs: Vec<Seq>,
    defs: Vec<Definition>,
    /// A multi-line definition being accumulated (index into defs).
    def_continuation: Option<usize>,
    total_bytes: u64,
    generated_lines: usize,
    token_limit_hit: bool,
    /// Lexical `{`/`}` depth, as keepalived's block_depth counts it.
    pub block_depth: i64,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'\x0b')
}

impl Lexer {
    pub fn new(limits: Limits, config_id: Option<String>, include_root: Option<PathBuf>) -> Lexer {
        Lexer {
            top_size: 0,
            tokens_before: 0,
            files: Vec::new(),
            text: String::new(),
            toks: Vec::new(),
            diags: Vec::new(),
            suppressions: Vec::new(),
            limits,
            config_id,
            include_root,
            include_map: Vec::new(),
            confined: false,
            stack: Vec::new(),
            residue: None,
            pool: Vec::new(),
            multiline: Vec::new(),
            seqs: Vec::new(),
            defs: Vec::new(),
            def_continuation: None,
            total_bytes: 0,
            generated_lines: 0,
            token_limit_hit: false,
            block_depth: 0,
        }
    }

    pub fn tok_str(&self, t: &Tok) -> &str {
        &self.text[t.start as usize..t.end()]
    }

    fn diag(&mut self, id: &'static str, file: u32, line: u32, col: u32, len: u32, msg: String) {
        self.diags.push(Diag {
            id,
            file,
            line,
            col,
            len,
            message: msg,
            evidence: Vec::new(),
            fix: None,
        });
    }

    /// Open the top-level file. Err only when it cannot be read at all.
    pub fn open_top(&mut self, path: &Path) -> anyhow::Result<()> {
        let meta = std::fs::metadata(path).map_err(|e| {
            crate::error::Error::file(path, format!("cannot read: {e} (check the path)"))
        })?;
        if meta.is_dir() {
            return Err(crate::error::Error::file(
                path,
                "is a directory; give the keepalived.conf file inside it",
            )
            .into());
        }
        if !meta.is_file() {
            // keepalived reads only regular files (lib/parser.c fstat()s each config and
            // skips anything else); a FIFO or device would also hang or never end here.
            return Err(crate::error::Error::file(
                path,
                "is not a regular file (a pipe, socket or device); keepalived skips such files. Save the config to a file and lint that",
            )
            .into());
        }
        let f = File::open(path).map_err(|e| {
            crate::error::Error::file(
                path,
                format!("cannot read: {e} (run with sudo or fix the file's permissions)"),
            )
        })?;
        // Read no more than was measured: a file that grows while read stays bounded.
        let f = f.take(meta.len());
        let idx = self.files.len() as u32;
        self.files.push(SourceFile {
            path: path.to_path_buf(),
            included_from: None,
            line_index: Vec::new(),
        });
        if meta.len() > self.limits.max_file_bytes {
            self.diag(
                "LB008",
                idx,
                1,
                0,
                0,
                format!(
                    "file is {} MB, over lbdoctor's {} MB limit for one keepalived config; not read",
                    meta.len() >> 20,
                    self.limits.max_file_bytes >> 20
                ),
            );
            return Ok(());
        }
        self.total_bytes += meta.len();
        self.top_size = meta.len();
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        self.push_frame(idx, f, canon, dir);
        Ok(())
    }

    /// Read a config from memory under a virtual name (fuzzing, tests). Includes resolve
    /// under a directory that does not exist, so they match nothing on the real filesystem.
    pub fn open_memory(&mut self, name: &Path, data: Vec<u8>) {
        let idx = self.files.len() as u32;
        self.files.push(SourceFile {
            path: name.to_path_buf(),
            included_from: None,
            line_index: Vec::new(),
        });
        let nowhere = PathBuf::from("/nonexistent-lbdoctor-virtual");
        self.include_root = Some(nowhere.clone());
        self.include_map = vec![(PathBuf::from("/"), nowhere.clone())];
        self.total_bytes += data.len() as u64;
        let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data));
        self.push_frame(idx, reader, name.to_path_buf(), nowhere);
    }

    fn push_frame(
        &mut self,
        file: u32,
        f: impl Read + Send + 'static,
        canon: PathBuf,
        dir: PathBuf,
    ) -> bool {
        let f: Box<dyn Read + Send> = Box::new(f);
        let mut reader = BufReader::with_capacity(64 << 10, f);
        // A binary file is reported once instead of as thousands of junk lines.
        let binary = match reader.fill_buf() {
            Ok(buf) => {
                let head = &buf[..buf.len().min(4096)];
                let nuls = head.iter().filter(|&&c| c == 0).count();
                let ctrl = head
                    .iter()
                    .filter(|&&c| c < 9 || (c > 13 && c < 32))
                    .count();
                nuls >= 4 || (head.len() > 64 && ctrl * 10 > head.len())
            }
            Err(_) => false,
        };
        if binary {
            self.diag(
                "LB008",
                file,
                1,
                0,
                0,
                "this is a binary file, not a keepalived configuration; not read".into(),
            );
            return false;
        }
        self.stack.push(Frame {
            file,
            reader,
            line: 0,
            canon,
            dir,
            nul_lines: 0,
            offset: 0,
            siblings: VecDeque::new(),
        });
        true
    }

    /// Close the current file and open the next one its include matched, if any.
    fn end_frame(&mut self) {
        if let Some(f) = self.stack.pop() {
            if !f.siblings.is_empty() {
                self.open_includes(f.siblings);
            }
        }
    }

    /// Read the next physical line (keepalived's fgets loop), applying its 1023-byte chunk
    /// and NUL rules. Returns (file, line, leading blanks left out) with the bytes without
    /// the line end in `buf`. A line already in the read buffer comes without its leading
    /// blanks when something other than `\r` follows them: decomment() would strip them
    /// anyway (the count keeps the columns), and the line stays non-empty.
    fn read_physical(&mut self, buf: &mut Vec<u8>) -> Option<(u32, u32, u32)> {
        loop {
            let top = self.stack.len().checked_sub(1)?;
            let file = self.stack[top].file;
            let line_no = self.stack[top].line + 1;
            if (line_no - 1).is_multiple_of(LINE_INDEX_STEP) {
                let off = self.stack[top].offset;
                self.files[file as usize].line_index.push(off);
            }
            let mut dropped_chunks = 0usize;
            let mut dropped_head: Vec<u8> = Vec::new();
            let mut eof = false;
            let mut error = None;
            let mut lead = 0;
            // Fast path: the whole line (with its end, within the 1023 bytes fgets would
            // read) is in the reader's buffer: what take().read_until() would return.
            let frame = &mut self.stack[top];
            let avail = frame.reader.buffer();
            if let Some(p) = avail[..avail.len().min(MAXBUF - 1)]
                .iter()
                .position(|&c| c == b'\n')
            {
                let line = &avail[..p];
                let blanks = line
                    .iter()
                    .take_while(|c| **c == b' ' || **c == b'\t')
                    .count();
                if line.get(blanks).is_some_and(|c| *c != b'\r') {
                    lead = blanks;
                }
                buf.clear();
                buf.extend_from_slice(&line[lead..]);
                frame.reader.consume(p + 1);
                frame.offset += (p + 1) as u64;
            } else {
                loop {
                    buf.clear();
                    let r = (&mut self.stack[top].reader)
                        .take((MAXBUF - 1) as u64)
                        .read_until(b'\n', buf);
                    match r {
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            self.stack[top].offset += n as u64;
                            if buf.last() != Some(&b'\n') && n == MAXBUF - 1 {
                                // A full buffer without a line end: keepalived drops it ("line too long").
                                dropped_chunks += 1;
                                if dropped_head.is_empty() {
                                    dropped_head = buf[..buf.len().min(60)].to_vec();
                                }
                                continue;
                            }
                            break;
                        }
                    }
                }
            }
            if let Some(e) = error {
                self.end_frame();
                self.diag(
                    "LB008",
                    file,
                    line_no,
                    0,
                    0,
                    format!("read error: {e}; the rest of this file is not read"),
                );
                continue;
            }
            if eof {
                self.end_frame();
                if dropped_chunks > 0 {
                    self.report_long_line(file, line_no, dropped_chunks, &dropped_head, &[]);
                }
                continue;
            }
            self.stack[top].line = line_no;
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            if buf.contains(&0) {
                self.stack[top].nul_lines += 1;
                if self.stack[top].nul_lines > 20 {
                    self.end_frame();
                    self.diag(
                        "LB008",
                        file,
                        line_no,
                        0,
                        0,
                        "more than 20 lines with NUL bytes: this is not a text file; the rest of it is not read".into(),
                    );
                } else {
                    self.diag(
                        "LB008",
                        file,
                        line_no,
                        0,
                        0,
                        "line contains a NUL byte; keepalived ignores the whole line (\"configuration appears to have embedded NULs\")".into(),
                    );
                }
                continue;
            }
            while buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if dropped_chunks > 0 {
                let tail = buf.clone();
                self.report_long_line(file, line_no, dropped_chunks, &dropped_head, &tail);
            }
            return Some((file, line_no, lead as u32));
        }
    }

    fn report_long_line(&mut self, file: u32, line: u32, chunks: usize, head: &[u8], tail: &[u8]) {
        let tail_s = String::from_utf8_lossy(tail);
        let tail_note = if tail_s.trim().is_empty() {
            "nothing of it is read".to_string()
        } else {
            format!(
                "only its last {} bytes are read, as a line of their own: `{}`",
                tail.len(),
                tail_s.trim()
            )
        };
        let len = chunks * (MAXBUF - 1) + tail.len();
        self.diags.push(Diag {
            id: "LB006",
            file,
            line,
            col: 1,
            len: 0,
            message: format!(
                "line is {len} bytes; keepalived reads lines in {} byte buffers and drops full ones (\"line too long - ignoring\"): {tail_note}",
                MAXBUF - 1
            ),
            evidence: vec![format!("starts: {}", String::from_utf8_lossy(head))],
            fix: Some("split the line; a value block can list one item per line".into()),
        });
    }

    /// keepalived's decomment(): strip leading blanks, cut at an unquoted `#`/`!`, unescape
    /// `\#`/`\!`, strip trailing blanks. Reports a cut that truncates a value (`ab#cd`).
    fn decomment(&mut self, w: &mut Work, file: u32, line: u32, report: bool) -> bool {
        let lead = w
            .text
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        if lead > 0 {
            w.drain_front(lead);
        }
        // most lines have nothing for decomment to do beyond trimming
        if !w
            .text
            .iter()
            .any(|&c| matches!(c, b'#' | b'!' | b'"' | b'\\'))
        {
            w.trim_end();
            return true;
        }
        let mut quote = false;
        let mut cont = false;
        let mut skip: Option<usize> = None;
        let mut i = 0;
        while i < w.text.len() {
            let c = w.text[i];
            match c {
                b'"' if skip.is_none() => quote = !quote,
                b'\\' => {
                    if i + 1 < w.text.len() {
                        if !quote && (w.text[i + 1] == b'#' || w.text[i + 1] == b'!') {
                            w.materialize();
                            w.text.remove(i);
                            w.cols.remove(i);
                        } else {
                            i += 1;
                        }
                    } else {
                        w.truncate(i);
                        cont = true;
                        break;
                    }
                }
                b'#' | b'!' if !quote && skip.is_none() => {
                    skip = Some(i);
                    // A comment sign glued to a word truncates that word's value.
                    if report && i > 0 && !is_ws(w.text[i - 1]) {
                        let word_start = w.text[..i]
                            .iter()
                            .rposition(|c| is_ws(*c))
                            .map_or(0, |p| p + 1);
                        let word_end = w.text[i..]
                            .iter()
                            .position(|c| is_ws(*c))
                            .map_or(w.text.len(), |p| p + i);
                        let word =
                            String::from_utf8_lossy(&w.text[word_start..word_end]).into_owned();
                        let kept = String::from_utf8_lossy(&w.text[word_start..i]).into_owned();
                        let first = String::from_utf8_lossy(
                            &w.text[..w
                                .text
                                .iter()
                                .position(|c| is_ws(*c))
                                .unwrap_or(w.text.len())],
                        )
                        .into_owned();
                        let col = w.col_at(word_start);
                        self.diags.push(Diag {
                            id: "LB005",
                            file,
                            line,
                            col,
                            len: (word_end - word_start) as u32,
                            message: format!(
                                "`{}` starts a comment even inside a word, so keepalived reads `{kept}` here, not `{word}`{}",
                                c as char,
                                if word_start == 0 { String::new() } else { format!(" (for `{first}`)") }
                            ),
                            evidence: Vec::new(),
                            fix: Some(format!(
                                "quote the value (\"{word}\"), escape the sign (\\{}), or use ${{_HASH}}/${{_BANG}}",
                                c as char
                            )),
                        });
                    }
                }
                _ => {}
            }
            i += 1;
        }
        // keepalived <= 2.3 (Debian/Ubuntu/RHEL's 2.2.x) keeps scanning after the comment
        // for a trailing `\`, so a commented line can continue a multi-line definition;
        // 2.4 stops at the comment.
        if let Some(s) = skip {
            if report {
                self.note_suppression(w, s, file, line);
            }
            w.truncate(s);
        }
        if quote && report {
            let col = w.col_at(w.text.iter().position(|c| *c == b'"').unwrap_or(0));
            self.diag(
                "LB009",
                file,
                line,
                col,
                1,
                "unterminated double quote: keepalived drops everything from the quote on (\"Unmatched quote\")".into(),
            );
        }
        w.trim_end();
        if cont {
            let c = w.col_at(w.text.len().saturating_sub(1)) + 1;
            w.text.push(b'\\');
            if w.explicit {
                w.cols.push(c);
            }
        }
        true
    }

    /// Record a `# lbdoctor: ignore LB001,LB016` comment (the comment starts at `at`).
    fn note_suppression(&mut self, w: &Work, at: usize, file: u32, line: u32) {
        let comment = &w.text[at..];
        let Some(pos) = comment.windows(9).position(|x| x == b"lbdoctor:") else {
            return;
        };
        let rest = String::from_utf8_lossy(&comment[pos + 9..]).into_owned();
        let rest = rest.trim_start();
        let Some(list) = rest.strip_prefix("ignore") else {
            return;
        };
        let ids: Vec<String> = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(str::trim)
            .take_while(|t| t.is_empty() || t.chars().all(|c| c.is_ascii_alphanumeric()))
            .filter(|t| !t.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        self.suppressions.push(SuppressionComment {
            file,
            line,
            col: w.col_at(at + pos),
            ids,
            own_line: at == 0,
        });
    }

    /// Next logical line, or None at the end of all files.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let (mut w, file, line, generated, fresh) = if let Some(p) = self.residue.take() {
                (p.work, p.file, p.line, p.generated, false)
            } else if let Some(p) = self.next_generated() {
                (p.work, p.file, p.line, true, false)
            } else {
                let mut w = self.take_work();
                let (file, line, lead) = self.read_physical(&mut w.text)?;
                w.base = lead;
                (w, file, line, false, true)
            };
            if fresh {
                if w.text.is_empty() {
                    self.end_continuation();
                    self.give_work(w);
                    continue;
                }
                self.decomment(&mut w, file, line, true);
                if let Some(d) = self.def_continuation {
                    // a line that is only a comment does not end a multi-line definition
                    if !w.text.is_empty() {
                        self.continue_definition(d, w);
                    }
                    continue;
                }
            }
            if w.text.is_empty() || !self.preprocess(&mut w, file, line, 0) || w.text.is_empty() {
                self.give_work(w);
                continue;
            }
            if let Some(l) = self.split_and_tokenize(w, file, line, generated) {
                return Some(l);
            }
        }
    }

    /// Line buffers are recycled: most lines need no allocation.
    fn take_work(&mut self) -> Work {
        self.pool.pop().unwrap_or_else(|| Work {
            text: Vec::with_capacity(128),
            ..Work::default()
        })
    }

    fn give_work(&mut self, mut w: Work) {
        if self.pool.len() < 8 {
            w.reset();
            self.pool.push(w);
        }
    }

    /// Lines of a multi-line definition come before further ~SEQ iterations, unless the
    /// ~SEQ started inside that expansion (keepalived's multiline_seq_depth).
    fn next_generated(&mut self) -> Option<Pending> {
        loop {
            let Some((lines, depth)) = self.multiline.last_mut() else {
                return self.next_seq_line(0);
            };
            let depth = *depth;
            if self.seqs.len() > depth {
                if let Some(p) = self.next_seq_line(depth) {
                    return Some(p);
                }
                continue;
            }
            match lines.pop_front() {
                Some(p) => return Some(p),
                None => {
                    self.multiline.pop();
                }
            }
        }
    }

    fn end_continuation(&mut self) {
        if let Some(d) = self.def_continuation.take() {
            if self.defs[d].value.is_empty() {
                self.defs[d].multiline = false;
            }
        }
    }

    fn continue_definition(&mut self, d: usize, w: Work) {
        let mut t = w.text;
        let more = t.last() == Some(&b'\\');
        if more {
            t.pop();
            while t.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
                t.pop();
            }
        }
        let def = &mut self.defs[d];
        if !t.is_empty() || !more {
            if !def.value.is_empty() && !def.value.ends_with(b"\n") {
                def.value.push(b'\n');
            }
            def.value.extend_from_slice(&t);
        }
        if !more {
            self.def_continuation = None;
            if def.value.is_empty() {
                def.multiline = false;
            }
        }
    }

    /// `@id`, `$NAME=`, `~SEQ`/`~LST`, substitution, include. Returns false when the line is
    /// consumed (a definition, an include, a line for another config id).
    fn preprocess(&mut self, w: &mut Work, file: u32, line: u32, depth: u32) -> bool {
        if w.text[0] == b'@' {
            let (neg, ofs) = if w.text.get(1) == Some(&b'^') {
                (true, 2)
            } else {
                (false, 1)
            };
            let Some(sp) = w.text[ofs..].iter().position(|c| *c == b' ' || *c == b'\t') else {
                return false;
            };
            let id = &w.text[ofs..ofs + sp];
            let matches = self
                .config_id
                .as_deref()
                .is_some_and(|c| c.as_bytes() == id);
            if matches == neg {
                return false;
            }
            let mut start = ofs + sp;
            while start < w.text.len() && (w.text[start] == b' ' || w.text[start] == b'\t') {
                start += 1;
            }
            w.drain_front(start);
            if w.text.is_empty() {
                return false;
            }
        }
        if w.text[0] == b'$' && self.check_definition(w) {
            return false;
        }
        if w.text.starts_with(b"~SEQ") || w.text.starts_with(b"~LST") {
            self.add_seq(w, file, line);
            return false;
        }
        if w.text[0] == b'~' {
            return true;
        }
        if w.text.contains(&b'$') && self.replace_params(w, file, line) {
            self.decomment(w, file, line, true);
            if w.text.is_empty() {
                return false;
            }
            // keepalived 2.2.7 (tested) re-reads a substituted line that now starts with `@`
            // or still holds a `$`
            if depth < 8 && (w.text[0] == b'@' || w.text.contains(&b'$')) {
                return self.preprocess(w, file, line, depth + 1);
            }
        }
        if let Some((kind, pat_start)) = is_include(&w.text) {
            let pattern = String::from_utf8_lossy(&w.text[pat_start..])
                .trim()
                .to_string();
            let col = w.col_at(pat_start);
            self.include(&pattern, kind, file, line, col);
            return false;
        }
        true
    }

    fn check_definition(&mut self, w: &Work) -> bool {
        let b = &w.text;
        if b.len() < 2 || !(b[1].is_ascii_alphabetic() || b[1] == b'_') {
            return false;
        }
        let mut p = 2;
        while p < b.len() && b[p] != b'=' {
            if !(b[p].is_ascii_alphanumeric() || b[p] == b'_') {
                return false;
            }
            p += 1;
        }
        if p >= b.len() {
            return false;
        }
        let name = b[1..p].to_vec();
        let mut v = p + 1;
        while v < b.len() && (b[v] == b' ' || b[v] == b'\t') {
            v += 1;
        }
        let mut value = b[v..].to_vec();
        let multiline = value.last() == Some(&b'\\');
        if multiline {
            value.pop();
            while value.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
                value.pop();
            }
        }
        let idx = match self.defs.iter().position(|d| d.name == name) {
            Some(i) => {
                self.defs[i].value = value;
                self.defs[i].multiline = multiline;
                i
            }
            None => {
                self.defs.push(Definition {
                    name,
                    value,
                    multiline,
                });
                self.defs.len() - 1
            }
        };
        if multiline {
            self.def_continuation = Some(idx);
        }
        true
    }

    /// keepalived's replace_param(): expand `$NAME` and `${NAME}` in place, recursively.
    fn replace_params(&mut self, w: &mut Work, file: u32, line: u32) -> bool {
        let mut found = false;
        let mut cur = 0;
        let mut rounds = 0;
        while let Some(off) = w.text[cur..].iter().position(|c| *c == b'$') {
            cur += off;
            if cur + 1 >= w.text.len() {
                break;
            }
            let Some((value, multiline_rest, consumed)) =
                self.find_definition(&w.text[cur + 1..], file)
            else {
                cur += 1;
                continue;
            };
            rounds += 1;
            if rounds > 256 {
                self.diag(
                    "LB010",
                    file,
                    line,
                    w.col_at(cur),
                    0,
                    "definition expands into itself without end; keepalived would loop or drop the line".into(),
                );
                w.reset();
                return true;
            }
            found = true;
            let col = w.col_at(cur);
            let end = cur + 1 + consumed;
            w.materialize();
            w.text.splice(cur..end, value.iter().copied());
            w.cols
                .splice(cur..end, std::iter::repeat_n(col, value.len()));
            if w.text.len() >= MAXBUF {
                self.diag(
                    "LB006",
                    file,
                    line,
                    col,
                    0,
                    "after substitution the line exceeds keepalived's 1023 byte limit; keepalived stops substituting here".into(),
                );
                w.truncate(MAXBUF - 1);
                break;
            }
            if let Some(rest) = multiline_rest {
                // a nested expansion comes before the rest of the outer one
                let lines: VecDeque<Pending> = rest
                    .split(|c| *c == b'\n')
                    .map(|part| Pending {
                        work: Work::explicit(part.to_vec(), col),
                        file,
                        line,
                        generated: true,
                    })
                    .collect();
                if self.multiline.len() < 64 {
                    self.multiline.push((lines, self.seqs.len()));
                }
            }
            if value.iter().find(|c| **c != b' ' && **c != b'\t') == Some(&b'~') {
                break;
            }
        }
        found
    }

    /// keepalived's find_definition() for a use: returns (replacement, further lines of a
    /// multi-line definition, bytes consumed after the `$`).
    fn find_definition(&self, s: &[u8], file: u32) -> Option<(Vec<u8>, Option<Vec<u8>>, usize)> {
        let braces = s.first() == Some(&b'{');
        let name_start = usize::from(braces);
        let first = *s.get(name_start)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut p = name_start + 1;
        while p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'_') {
            p += 1;
        }
        let name = &s[name_start..p];
        let mut params: Option<&[u8]> = None;
        let consumed;
        if braces {
            let mut q = p;
            while q < s.len()
                && (s[q] == b' ' || s[q] == b'\t' || s[q].is_ascii_alphanumeric() || s[q] == b'_')
            {
                q += 1;
            }
            if s.get(q) != Some(&b'}') {
                return None;
            }
            let ps = &s[p..q];
            if !ps.is_empty() {
                if ps.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
                    return None;
                }
                params = Some(ps);
            }
            consumed = q + 1;
        } else {
            if p < s.len() && !matches!(s[p], b' ' | b'\t' | b',' | b')') {
                return None;
            }
            consumed = p;
        }
        let at_end = consumed == s.len();
        if let Some(d) = self
            .defs
            .iter()
            .find(|d| d.name == name && (at_end || !d.multiline))
        {
            if params.is_some() {
                return None;
            }
            if d.multiline {
                let mut parts = d.value.splitn(2, |c| *c == b'\n');
                let first = parts.next().unwrap_or_default().to_vec();
                let rest = parts.next().map(|r| r.to_vec());
                return Some((first, rest, consumed));
            }
            return Some((d.value.clone(), None, consumed));
        }
        // keepalived's standard definitions
        let value: Vec<u8> = match name {
            b"_HASH" => b"#".to_vec(),
            b"_BANG" => b"!".to_vec(),
            b"_PWD" => {
                let dir = self
                    .stack
                    .iter()
                    .rev()
                    .find(|f| f.file == file)
                    .map(|f| f.dir.clone())
                    .unwrap_or_default();
                let dir = dir.canonicalize().unwrap_or(dir);
                dir.to_string_lossy().as_bytes().to_vec()
            }
            b"_INSTANCE" => Vec::new(),
            b"_RANDOM" => b"0".to_vec(),
            b"_ENV" => {
                let var = String::from_utf8_lossy(params?.trim_ascii()).into_owned();
                std::env::var(var).unwrap_or_default().into_bytes()
            }
            _ => return None,
        };
        if params.is_some() && !matches!(name, b"_ENV" | b"_RANDOM") {
            return None;
        }
        Some((value, None, consumed))
    }

    /// ~SEQ(var, start[, step], end) text  /  ~LST(var, v1, v2, ...) text
    /// (and ~LST({a,b},{1,2},{3,4}) for several variables).
    fn add_seq(&mut self, w: &Work, file: u32, line: u32) {
        let s = String::from_utf8_lossy(&w.text).into_owned();
        let parsed = parse_seq(&s);
        let Some((vars, rows, text_off)) = parsed else {
            self.diag(
                "LB010",
                file,
                line,
                1,
                4,
                format!(
                    "invalid {} specification; keepalived ignores the line",
                    &s[..s.len().min(4)]
                ),
            );
            return;
        };
        let n = rows.len();
        if self.generated_lines + n > self.limits.max_generated_lines {
            self.diag(
                "LB010",
                file,
                line,
                1,
                4,
                format!(
                    "this repetition would generate {n} lines, over lbdoctor's limit of {}; not expanded",
                    self.limits.max_generated_lines
                ),
            );
            return;
        }
        self.generated_lines += n;
        let mut text = w.clone();
        text.drain_front(text_off.min(text.text.len()));
        let lead = text
            .text
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        text.drain_front(lead);
        self.seqs.push(Seq {
            text,
            file,
            line,
            vars,
            rows: rows.into(),
        });
    }

    /// The next line of the innermost ~SEQ/~LST at index `floor` or above.
    fn next_seq_line(&mut self, floor: usize) -> Option<Pending> {
        loop {
            if self.seqs.len() <= floor {
                return None;
            }
            let seq = self.seqs.last_mut()?;
            let Some(row) = seq.rows.pop_front() else {
                self.seqs.pop();
                continue;
            };
            let vars = seq.vars.clone();
            let p = Pending {
                work: seq.text.clone(),
                file: seq.file,
                line: seq.line,
                generated: true,
            };
            for (name, value) in vars.into_iter().zip(row) {
                match self.defs.iter_mut().find(|d| d.name == name) {
                    Some(d) => {
                        d.value = value;
                        d.multiline = false;
                    }
                    None => self.defs.push(Definition {
                        name,
                        value,
                        multiline: false,
                    }),
                }
            }
            return Some(p);
        }
    }

    fn include(&mut self, pattern: &str, kind: u8, file: u32, line: u32, col: u32) {
        let strict = kind == b'a';
        let Some(frame_dir) = self
            .stack
            .iter()
            .rev()
            .find(|f| f.file == file)
            .map(|f| f.dir.clone())
        else {
            return;
        };
        if self.stack.len() >= self.limits.max_include_depth {
            self.diags.push(Diag {
                id: "LB007",
                file,
                line,
                col,
                len: pattern.len() as u32,
                message: format!(
                    "includes nest deeper than {} levels; lbdoctor stops here (keepalived would keep opening files)",
                    self.limits.max_include_depth
                ),
                evidence: Vec::new(),
                fix: None,
            });
            return;
        }
        let mut matched = Vec::new();
        let mut had_wildcard = false;
        let mut missing = Vec::new();
        // A glob such as /usr/**/* must not walk a whole tree: stop one past the file limit.
        let room = self.limits.max_files.saturating_sub(self.files.len()) + 1;
        let mut too_many = false;
        for pat in expand_braces(pattern) {
            let resolved = self.resolve(&frame_dir, &pat);
            let rs = resolved.to_string_lossy().into_owned();
            if rs.contains(['*', '?', '[']) {
                had_wildcard = true;
                let mut hits: Vec<PathBuf> = glob::glob(&rs)
                    .map(|it| {
                        it.filter_map(Result::ok)
                            .take(room.saturating_sub(matched.len()))
                            .collect()
                    })
                    .unwrap_or_default();
                hits.sort();
                matched.extend(hits);
                if matched.len() >= room {
                    too_many = true;
                    break;
                }
            } else if resolved.exists() {
                matched.push(resolved);
            } else {
                missing.push(pat);
            }
        }
        if too_many {
            matched.truncate(room - 1);
            self.diag(
                "LB007",
                file,
                line,
                col,
                pattern.len() as u32,
                format!(
                    "`{pattern}` matches more files than lbdoctor's limit of {} files for one config; only the first {} are read",
                    self.limits.max_files,
                    matched.len()
                ),
            );
        }
        if self.confined && matched.is_empty() && had_wildcard {
            missing.push(pattern.to_string());
        }
        if !missing.is_empty() && self.confined {
            self.diags.push(Diag {
                id: "LB007",
                file,
                line,
                col,
                len: pattern.len() as u32,
                message: format!(
                    "include {} not followed: it is not among the files gathered from this host, and a host's includes are never read from this machine; the settings it holds are not linted",
                    missing.join(", ")
                ),
                evidence: vec![
                    "only the files lbdoctor gathers (/etc/keepalived/keepalived.conf and the boot-time network files) travel with the facts".into(),
                ],
                fix: Some("lint the whole configuration on the director itself: lbdoctor lint /etc/keepalived/keepalived.conf".into()),
            });
        } else if !missing.is_empty() {
            self.diags.push(Diag {
                id: "LB007",
                file,
                line,
                col,
                len: pattern.len() as u32,
                message: format!(
                    "included file {} does not exist{}",
                    missing.join(", "),
                    if strict {
                        "; with includea keepalived treats this as fatal"
                    } else {
                        "; keepalived skips it without an error that counts, so its settings are silently missing"
                    }
                ),
                evidence: vec![format!("relative paths are resolved from {}", frame_dir.display())],
                fix: Some("fix the path (relative to the including file's directory)".into()),
            });
        } else if matched.is_empty() && had_wildcard {
            self.diags.push(Diag {
                id: "LB007",
                file,
                line,
                col,
                len: pattern.len() as u32,
                message: format!("no file matches `{pattern}`; nothing is included"),
                evidence: vec![format!(
                    "relative paths are resolved from {}",
                    frame_dir.display()
                )],
                fix: None,
            });
        }
        // Included files are read one after the other; push in reverse so the first is on top.
        let mut to_open = Vec::new();
        for path in matched {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                continue;
            }
            if !meta.is_file() {
                // keepalived (lib/parser.c, 2.x) fopen()s each match, then fstat()s it and
                // skips anything that is not S_ISREG ("is not a regular non-executable
                // file - skipping"). Opening a FIFO or /dev/stdin here would hang.
                self.diags.push(Diag {
                    id: "LB007",
                    file,
                    line,
                    col,
                    len: pattern.len() as u32,
                    message: format!(
                        "{} is not a regular file (a pipe, socket or device); keepalived skips it (\"is not a regular non-executable file\"), and lbdoctor does not read it",
                        path.display()
                    ),
                    evidence: Vec::new(),
                    fix: Some("include only regular files".into()),
                });
                continue;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o111 != 0 {
                    self.diags.push(Diag {
                        id: "LB007",
                        file,
                        line,
                        col,
                        len: pattern.len() as u32,
                        message: format!(
                            "{} is executable; keepalived skips it (\"is not a regular non-executable file\")",
                            path.display()
                        ),
                        evidence: Vec::new(),
                        fix: Some(format!("chmod a-x {}", path.display())),
                    });
                    continue;
                }
            }
            to_open.push((path, meta.len()));
        }
        let queue: VecDeque<PendingInclude> = to_open
            .into_iter()
            .map(|(path, size)| PendingInclude {
                path,
                size,
                from_file: file,
                from_line: line,
                col,
                pattern_len: pattern.len() as u32,
            })
            .collect();
        self.open_includes(queue);
    }

    /// Open the first file of `queue` that can be opened; the rest follow it.
    fn open_includes(&mut self, mut queue: VecDeque<PendingInclude>) {
        while let Some(pi) = queue.pop_front() {
            let (file, line, col, plen) = (pi.from_file, pi.from_line, pi.col, pi.pattern_len);
            let path = pi.path;
            let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
            if let Some(cyc) = self.stack.iter().position(|f| f.canon == canon) {
                let chain: Vec<String> = self.stack[cyc..]
                    .iter()
                    .map(|f| self.files[f.file as usize].path.display().to_string())
                    .collect();
                self.diags.push(Diag {
                    id: "LB007",
                    file,
                    line,
                    col,
                    len: plen,
                    message: format!(
                        "include cycle: {} is already being read ({} -> {}); keepalived would recurse until it runs out of file descriptors",
                        path.display(),
                        chain.join(" -> "),
                        path.display()
                    ),
                    evidence: Vec::new(),
                    fix: Some("remove the include that points back".into()),
                });
                continue;
            }
            if self.stack.len() >= self.limits.max_include_depth {
                self.diag(
                    "LB007",
                    file,
                    line,
                    col,
                    plen,
                    format!(
                        "includes nest deeper than {} levels; lbdoctor stops here (keepalived would keep opening files)",
                        self.limits.max_include_depth
                    ),
                );
                return;
            }
            if self.files.len() >= self.limits.max_files {
                self.diag(
                    "LB007",
                    file,
                    line,
                    col,
                    0,
                    format!(
                        "more than {} files included; lbdoctor reads no more",
                        self.limits.max_files
                    ),
                );
                return;
            }
            let idx = self.files.len() as u32;
            self.files.push(SourceFile {
                path: path.clone(),
                included_from: Some((file, line)),
                line_index: Vec::new(),
            });
            if pi.size > self.limits.max_file_bytes
                || self.total_bytes + pi.size > self.limits.max_total_bytes
            {
                self.diag(
                    "LB008",
                    idx,
                    1,
                    0,
                    0,
                    format!(
                        "file is {} MB; over lbdoctor's input limit, not read",
                        pi.size >> 20
                    ),
                );
                continue;
            }
            self.total_bytes += pi.size;
            // Checked again on the open file: the path may have been swapped since the glob.
            let opened = File::open(&path).and_then(|f| {
                if f.metadata()?.is_file() {
                    Ok(f)
                } else {
                    Err(std::io::Error::other("no longer a regular file"))
                }
            });
            match opened {
                Ok(f) => {
                    // Never more than was counted against the limits, even if it grows.
                    let f = f.take(pi.size);
                    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    if self.push_frame(idx, f, canon, dir) {
                        if let Some(top) = self.stack.last_mut() {
                            top.siblings = queue;
                        }
                        return;
                    }
                }
                Err(e) => self.diag(
                    "LB007",
                    file,
                    line,
                    col,
                    0,
                    format!("cannot read included file {}: {e}", path.display()),
                ),
            }
        }
    }

    fn resolve(&self, dir: &Path, pat: &str) -> PathBuf {
        let p = Path::new(pat);
        if let (true, Some(root)) = (self.confined, &self.include_root) {
            return confine(root, dir, p);
        }
        for (from, to) in &self.include_map {
            if let Ok(rest) = p.strip_prefix(from) {
                return to.join(rest);
            }
        }
        if p.is_absolute() {
            if let Some(root) = &self.include_root {
                return root.join(p.strip_prefix("/").unwrap_or(p));
            }
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    }

    /// Split at the first unquoted brace (the rest becomes the next line), then tokenize
    /// like alloc_strvec_r(): whitespace-separated words, `"..."` grouped without quotes.
    fn split_and_tokenize(
        &mut self,
        mut w: Work,
        file: u32,
        line: u32,
        generated: bool,
    ) -> Option<Line> {
        let l = self.split_and_tokenize_into(&mut w, file, line, generated);
        self.give_work(w);
        l
    }

    fn split_and_tokenize_into(
        &mut self,
        w: &mut Work,
        file: u32,
        line: u32,
        generated: bool,
    ) -> Option<Line> {
        let t = &w.text;
        let mut brace = None;
        if t[0] == b'{' || t[0] == b'}' {
            brace = Some(0);
        } else {
            let mut i = 0;
            while i < t.len() {
                match t[i] {
                    b'"' => match t[i + 1..].iter().position(|c| *c == b'"') {
                        Some(q) => i += q + 2,
                        None => break,
                    },
                    b'{' | b'}' => {
                        brace = Some(i);
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        if let Some(p) = brace {
            let skip = if p == 0 {
                1 + t[1..]
                    .iter()
                    .take_while(|c| **c == b' ' || **c == b'\t')
                    .count()
            } else {
                0
            };
            if p + skip < t.len() {
                let mut rest = self.take_work();
                rest.text.extend_from_slice(&w.text[p + skip..]);
                if w.explicit {
                    rest.explicit = true;
                    rest.cols.extend_from_slice(&w.cols[p + skip..]);
                } else {
                    rest.base = w.base + (p + skip) as u32;
                }
                rest.trim_end();
                w.truncate(p + skip);
                self.residue = Some(Pending {
                    work: rest,
                    file,
                    line,
                    generated,
                });
            }
        }
        w.trim_end();
        if w.text.is_empty() {
            return None;
        }
        if w.text == b"{" {
            self.block_depth += 1;
        } else if w.text == b"}" {
            self.block_depth -= 1;
        }
        if self.tokens_before + self.toks.len() >= self.limits.max_tokens {
            if !self.token_limit_hit {
                self.token_limit_hit = true;
                self.diag(
                    "LB008",
                    file,
                    line,
                    0,
                    0,
                    format!(
                        "more than {} tokens: lbdoctor stops reading here to bound its memory",
                        self.limits.max_tokens
                    ),
                );
            }
            self.stack.clear();
            self.residue = None;
            self.multiline.clear();
            self.seqs.clear();
            return None;
        }
        let tok_start = self.toks.len() as u32;
        let t = &w.text;
        let mut i = 0;
        while i < t.len() {
            while i < t.len() && is_ws(t[i]) {
                i += 1;
            }
            if i >= t.len() {
                break;
            }
            let (s, e, next, quoted) = if t[i] == b'"' {
                match t[i + 1..].iter().position(|c| *c == b'"') {
                    Some(q) => (i + 1, i + 1 + q, i + q + 2, true),
                    None => {
                        // decomment already reported the unterminated quote
                        break;
                    }
                }
            } else {
                let e = t[i..]
                    .iter()
                    .position(|c| is_ws(*c) || *c == b'"')
                    .map_or(t.len(), |p| p + i);
                (i, e, e, false)
            };
            let start = self.text.len() as u32;
            // Token bounds are ASCII bytes, so a token of a valid line is valid on its own;
            // checking tokens only skips the blanks between them.
            match std::str::from_utf8(&t[s..e]) {
                Ok(tok) => self.text.push_str(tok),
                Err(_) => self.text.push_str(&String::from_utf8_lossy(&t[s..e])),
            }
            let len = self.text.len() - start as usize;
            self.toks.push(Tok::new(
                start,
                len,
                w.col_at(if quoted { s - 1 } else { s }),
                quoted,
            ));
            i = next;
        }
        let tok_end = self.toks.len() as u32;
        if tok_end == tok_start {
            return None;
        }
        Some(Line {
            file,
            line,
            tok_start,
            tok_end,
            generated,
        })
    }

    /// Hand out the lines read so far with their tokens, leaving the arenas empty.
    pub fn take_batch(&mut self, lines: Vec<Line>) -> Batch {
        self.tokens_before += self.toks.len();
        Batch {
            lines,
            toks: std::mem::take(&mut self.toks),
            text: std::mem::take(&mut self.text),
        }
    }

    /// Take over an emptied batch's arenas for the next batch, when ours are still empty.
    pub fn reuse(&mut self, mut text: String, mut toks: Vec<Tok>) {
        if self.text.is_empty() && self.toks.is_empty() {
            text.clear();
            toks.clear();
            self.text = text;
            self.toks = toks;
        }
    }

    /// Drop the tokens of the most recent line (brace lines are not kept).
    pub fn discard(&mut self, l: &Line) {
        if l.tok_end as usize == self.toks.len() {
            if let Some(t) = self.toks.get(l.tok_start as usize) {
                self.text.truncate(t.start as usize);
            }
            self.toks.truncate(l.tok_start as usize);
        }
    }
}

/// `pat` as the host would resolve it from its directory `dir` (a path under `root`),
/// mapped under `root`: `..` stops at the host's `/`, so nothing outside `root` is reached.
fn confine(root: &Path, dir: &Path, pat: &Path) -> PathBuf {
    use std::path::Component;
    let host_dir = dir.strip_prefix(root).unwrap_or(Path::new(""));
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    let full = if pat.is_absolute() {
        pat.to_path_buf()
    } else {
        Path::new("/").join(host_dir).join(pat)
    };
    for c in full.components() {
        match c {
            Component::Normal(x) => parts.push(x.to_os_string()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let mut out = root.to_path_buf();
    out.extend(parts);
    out
}

/// keepalived's is_include(): `include`, `includer|m|w|b|a` followed by whitespace.
fn is_include(b: &[u8]) -> Option<(u8, usize)> {
    if !b.starts_with(b"include") || b.len() < 8 {
        return None;
    }
    if b[7] == b' ' || b[7] == b'\t' {
        return Some((b' ', 8));
    }
    if b.len() > 8 && (b[8] == b' ' || b[8] == b'\t') && b"rmwba".contains(&b[7]) {
        return Some((b[7], 9));
    }
    None
}

/// GLOB_BRACE: `a{b,c}d` -> `abd`, `acd` (nested braces too). Capped at 1024 patterns.
pub fn expand_braces(p: &str) -> Vec<String> {
    let bytes = p.as_bytes();
    let Some(open) = bytes.iter().position(|c| *c == b'{') else {
        return vec![p.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in bytes.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_string()];
    };
    if commas.is_empty() {
        return vec![p.to_string()];
    }
    let (pre, post) = (&p[..open], &p[close + 1..]);
    let mut out = Vec::new();
    let mut start = open + 1;
    for &c in commas.iter().chain(std::iter::once(&close)) {
        for tail in expand_braces(&format!("{pre}{}{post}", &p[start..c])) {
            if out.len() < 1024 {
                out.push(tail);
            }
        }
        start = c + 1;
    }
    out
}

type SeqSpec = (Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>, usize);

/// Parse `~SEQ(var, start, [step,] end)` / `~SEQx(...)` / `~LST(var, a, b, ...)` /
/// `~LST({v1,v2}, {a,b}, {c,d})`. Returns variable names, rows of values, and where the
/// repeated text starts.
fn parse_seq(s: &str) -> Option<SeqSpec> {
    let hex = s.starts_with("~SEQx");
    let open = s.find('(')?;
    let close = matching_paren(s, open)?;
    let inner = &s[open + 1..close];
    if s.starts_with("~SEQ") {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        // strtol(p, &p, 0): decimal, 0x hex or 0 octal, whatever the output format
        let num = |x: &str| -> Option<i64> {
            let (neg, x) = match x.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, x.strip_prefix('+').unwrap_or(x)),
            };
            let v = if let Some(h) = x.strip_prefix("0x").or_else(|| x.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok()?
            } else if x.len() > 1 && x.starts_with('0') {
                i64::from_str_radix(&x[1..], 8).ok()?
            } else {
                x.parse().ok()?
            };
            Some(if neg { -v } else { v })
        };
        let (var, start, step, end) = match parts.as_slice() {
            [v, e] => (*v, 1, 1, num(e)?),
            [v, s0, e] => (*v, num(s0)?, 1, num(e)?),
            [v, s0, st, e] => (*v, num(s0)?, num(st)?, num(e)?),
            _ => return None,
        };
        if step == 0 || var.is_empty() || (hex && (start < 0 || end < 0)) {
            return None;
        }
        let mut rows = Vec::new();
        let mut x = start;
        while (step > 0 && x <= end) || (step < 0 && x >= end) {
            let v = if hex { format!("{x:x}") } else { x.to_string() };
            rows.push(vec![v.into_bytes()]);
            if rows.len() > 10_000_000 {
                return None;
            }
            x += step;
        }
        Some((vec![var.as_bytes().to_vec()], rows, close + 1))
    } else {
        let items = split_top(inner);
        let first = items.first()?.trim();
        if let Some(names) = first.strip_prefix('{').and_then(|f| f.strip_suffix('}')) {
            let vars: Vec<Vec<u8>> = names
                .split(',')
                .map(|n| n.trim().as_bytes().to_vec())
                .collect();
            let mut rows = Vec::new();
            for it in &items[1..] {
                let it = it.trim();
                let inner = it
                    .strip_prefix('{')
                    .and_then(|f| f.strip_suffix('}'))
                    .unwrap_or(it);
                rows.push(
                    inner
                        .split(',')
                        .map(|v| v.trim().as_bytes().to_vec())
                        .collect(),
                );
            }
            Some((vars, rows, close + 1))
        } else {
            let rows = items[1..]
                .iter()
                .map(|v| vec![v.trim().as_bytes().to_vec()])
                .collect();
            Some((vec![first.as_bytes().to_vec()], rows, close + 1))
        }
    }
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(text: &str) -> (Vec<(u32, Vec<String>)>, Vec<Diag>) {
        lines_with(text, None)
    }

    fn lines_with(text: &str, id: Option<&str>) -> (Vec<(u32, Vec<String>)>, Vec<Diag>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let mut lx = Lexer::new(Limits::default(), id.map(String::from), None);
        lx.open_top(&p).unwrap();
        let mut out = Vec::new();
        while let Some(l) = lx.next_line() {
            let toks = (l.tok_start..l.tok_end)
                .map(|i| lx.tok_str(&lx.toks[i as usize]).to_string())
                .collect();
            out.push((l.line, toks));
        }
        (out, lx.diags)
    }

    fn words(v: &[(u32, Vec<String>)]) -> Vec<String> {
        v.iter().map(|(_, t)| t.join(" ")).collect()
    }

    #[test]
    fn braces_become_lines_of_their_own() {
        let (l, _) =
            lines_of("virtual_ipaddress { 192.0.2.10 }\nreal_server 1.2.3.4 80 { weight 1 }\n");
        assert_eq!(
            words(&l),
            [
                "virtual_ipaddress",
                "{",
                "192.0.2.10",
                "}",
                "real_server 1.2.3.4 80",
                "{",
                "weight 1",
                "}"
            ]
        );
    }

    #[test]
    fn comments_cut_unquoted_values_and_are_reported() {
        let (l, d) = lines_of("auth_pass ab#cd\nauth_pass \"ab#cd\"\nauth_pass ab\\#cd\nweight 1 # fine\n! whole line\n");
        assert_eq!(
            words(&l),
            [
                "auth_pass ab",
                "auth_pass ab#cd",
                "auth_pass ab#cd",
                "weight 1"
            ]
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].id, "LB005");
        assert_eq!((d[0].line, d[0].col), (1, 11));
        assert!(d[0].message.contains("reads `ab`"), "{}", d[0].message);
    }

    #[test]
    fn quotes_group_and_end_tokens() {
        let (l, _) = lines_of("notify \"/bin/a b\" x\nfoo\"bar baz\"\n");
        assert_eq!(l[0].1, ["notify", "/bin/a b", "x"]);
        assert_eq!(l[1].1, ["foo", "bar baz"]);
    }

    #[test]
    fn definitions_and_conditionals() {
        let text = "$IF=eth0\n$X = bad\n@lb1 interface $IF\n@^lb1 interface other\n@lb2 priority 50\nstate ${IF}x\nhash ${_HASH}\n";
        let (l, _) = lines_with(text, Some("lb1"));
        assert_eq!(
            words(&l),
            ["$X = bad", "interface eth0", "state eth0x", "hash"]
        );
        let (l, _) = lines_with(text, None);
        assert_eq!(
            words(&l),
            ["$X = bad", "interface other", "state eth0x", "hash"]
        );
    }

    #[test]
    fn multiline_definition_expands_to_lines() {
        let text = "$RS=real_server 10.0.0.1 80 { \\\n  weight 2 \\\n}\n$RS\n";
        let (l, _) = lines_of(text);
        assert_eq!(words(&l), ["real_server 10.0.0.1 80", "{", "weight 2", "}"]);
    }

    #[test]
    fn seq_inside_multiline_inside_seq() {
        let text = "$RS= \\\nreal_server 10.${N}.0.${R} 80 { \\\n}\n$VS= \\\nvirtual_server group G${N} \\\n{ \\\n~SEQ(R,1,2) $RS \\\n}\n\n~SEQ(N,1,2) $VS\n";
        let (l, _) = lines_of(text);
        assert_eq!(
            words(&l),
            [
                "virtual_server group G1",
                "{",
                "real_server 10.1.0.1 80",
                "{",
                "}",
                "real_server 10.1.0.2 80",
                "{",
                "}",
                "}",
                "virtual_server group G2",
                "{",
                "real_server 10.2.0.1 80",
                "{",
                "}",
                "real_server 10.2.0.2 80",
                "{",
                "}",
                "}"
            ]
        );
    }

    #[test]
    fn seq_repeats_lines() {
        let (l, _) = lines_of("~SEQ(i, 1, 3) real_server 10.0.0.$i 80\n");
        assert_eq!(
            words(&l),
            [
                "real_server 10.0.0.1 80",
                "real_server 10.0.0.2 80",
                "real_server 10.0.0.3 80"
            ]
        );
    }

    #[test]
    fn long_line_tail_is_read_as_a_line() {
        let long = format!("{}weight 5\n", "x".repeat(1023));
        let (l, d) = lines_of(&format!("a\n{long}b\n"));
        assert_eq!(words(&l), ["a", "weight 5", "b"]);
        assert_eq!(d[0].id, "LB006");
        assert_eq!(d[0].line, 2);
        let exact = format!("{}\nc\n", "y".repeat(1022));
        let (l, d) = lines_of(&exact);
        assert_eq!(l.len(), 2);
        assert!(d.is_empty());
    }

    #[test]
    fn nul_lines_and_binary_files() {
        let (l, d) = lines_of("a\nb\0c\nd\n");
        assert_eq!(words(&l), ["a", "d"]);
        assert_eq!(d[0].id, "LB008");
        let (l, d) = lines_of("\u{7f}ELF\0\0\0\0binary junk");
        assert!(l.is_empty());
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn includes_resolve_relative_and_detect_cycles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("main.conf"), "a\ninclude sub/*.conf\nz\n").unwrap();
        std::fs::write(dir.path().join("sub/1.conf"), "one\ninclude ../main.conf\n").unwrap();
        std::fs::write(dir.path().join("sub/2.conf"), "two\ninclude missing.conf\n").unwrap();
        let mut lx = Lexer::new(Limits::default(), None, None);
        lx.open_top(&dir.path().join("main.conf")).unwrap();
        let mut got = Vec::new();
        while let Some(l) = lx.next_line() {
            got.push(lx.tok_str(&lx.toks[l.tok_start as usize]).to_string());
        }
        assert_eq!(got, ["a", "one", "two", "z"]);
        let ids: Vec<_> = lx.diags.iter().map(|d| (d.id, d.file, d.line)).collect();
        assert_eq!(ids, [("LB007", 1, 2), ("LB007", 2, 2)]);
        assert!(lx.diags[0].message.contains("cycle"));
        assert!(lx.diags[1].message.contains("does not exist"));
    }

    #[test]
    fn brace_expansion() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("x{1,{2,3}}"), ["x1", "x2", "x3"]);
        assert_eq!(expand_braces("plain"), ["plain"]);
    }
}
