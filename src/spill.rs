//! Rows kept on disk instead of in memory: with `--max-rows 0` every row of the long tables
//! (steps, tracker rows, messages, log records) is written to a temporary file as it is made
//! and read back one at a time when the report is printed, so memory does not grow with the
//! number of rows printed.
//!
//! A row is one line of tab-separated fields (`\`, tab and newline escaped). On Unix the file
//! is unlinked as soon as it is created: nothing is left behind, even when the run is killed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A row that can be written as one line of fields and read back.
pub trait Line: Sized {
    /// Appends the row's fields with [`field`].
    fn write(&self, out: &mut Fields);
    /// The row from its fields, in the order [`write`](Line::write) gave them.
    fn read(fields: &mut FieldIter<'_>) -> Option<Self>;
}

/// The fields of one line being written.
#[derive(Debug)]
pub struct Fields {
    buf: Vec<u8>,
    first: bool,
}

impl Fields {
    /// Adds one field.
    pub fn field(&mut self, value: impl std::fmt::Display) {
        if !self.first {
            self.buf.push(b'\t');
        }
        self.first = false;
        let text = value.to_string();
        for b in text.bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b => self.buf.push(b),
            }
        }
    }
}

/// The fields of one line being read.
pub struct FieldIter<'a> {
    parts: std::str::Split<'a, char>,
}

impl FieldIter<'_> {
    /// The next field as text.
    pub fn text(&mut self) -> Option<String> {
        let raw = self.parts.next()?;
        if !raw.contains('\\') {
            return Some(raw.to_string());
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        Some(out)
    }

    /// The next field as a number.
    pub fn number<N: std::str::FromStr>(&mut self) -> Option<N> {
        self.parts.next()?.parse().ok()
    }

    /// Every field left, as text.
    pub fn rest(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.text()).collect()
    }
}

/// The temporary file under a spill, removed when the last handle goes.
#[derive(Debug)]
struct Backing {
    file: File,
    #[cfg(not(unix))]
    path: std::path::PathBuf,
}

#[cfg(not(unix))]
impl Drop for Backing {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Backing {
    fn create() -> io::Result<Backing> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("scn-{}-{}.rows", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        #[cfg(unix)]
        {
            std::fs::remove_file(&path)?;
            Ok(Backing { file })
        }
        #[cfg(not(unix))]
        Ok(Backing { file, path })
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_at(&self.file, buf, at)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_read(&self.file, buf, at)
        }
    }
}

/// Rows being written. Cloning shares the file (a spilling trace is never forked).
#[derive(Debug, Clone)]
pub struct Writer<T> {
    backing: Arc<Backing>,
    buf: Vec<u8>,
    len: u64,
    /// The first write error, reported when the rows are read.
    error: Option<Arc<io::Error>>,
    _row: PhantomData<fn(T)>,
}

/// Bytes buffered before a write to the file.
const CHUNK: usize = 1 << 16;

impl<T: Line> Writer<T> {
    /// Rows in a new temporary file.
    pub fn new() -> io::Result<Writer<T>> {
        Ok(Writer { backing: Arc::new(Backing::create()?), buf: Vec::new(), len: 0, error: None, _row: PhantomData })
    }

    /// Adds a row.
    pub fn push(&mut self, row: &T) {
        let mut fields = Fields { buf: std::mem::take(&mut self.buf), first: true };
        row.write(&mut fields);
        fields.buf.push(b'\n');
        self.buf = fields.buf;
        self.len += 1;
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = (&self.backing.file).write_all(&self.buf)
        {
            self.error = Some(Arc::new(e));
        }
        self.buf.clear();
    }

    /// How many rows were pushed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows written, ready to be read (as often as needed).
    pub fn finish(mut self) -> io::Result<Rows<T>> {
        self.flush();
        if let Some(e) = self.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        let end = self.backing.file.metadata()?.len();
        Ok(Rows { backing: self.backing, end, len: self.len, _row: PhantomData })
    }
}

/// Rows on disk, read back in order as often as needed.
#[derive(Debug, Clone)]
pub struct Rows<T> {
    backing: Arc<Backing>,
    end: u64,
    len: u64,
    _row: PhantomData<fn() -> T>,
}

impl<T: Line> Rows<T> {
    /// How many rows there are.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows from the first, each read when asked for; a row that fails to read ends them.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mut reader = BufReader::with_capacity(CHUNK, Cursor { backing: &self.backing, at: 0, end: self.end });
        let mut line = String::new();
        std::iter::from_fn(move || {
            line.clear();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let text = line.strip_suffix('\n').unwrap_or(&line);
            T::read(&mut FieldIter { parts: text.split('\t') })
        })
    }
}

/// A reader of the file from its own position (readers do not move each other).
struct Cursor<'a> {
    backing: &'a Backing,
    at: u64,
    end: u64,
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = (self.end - self.at).min(buf.len() as u64) as usize;
        if left == 0 {
            return Ok(0);
        }
        let n = self.backing.read_at(&mut buf[..left], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldIter, Fields, Line, Writer};

    #[derive(Debug, PartialEq)]
    struct Row(u64, String, Vec<String>);

    impl Line for Row {
        fn write(&self, out: &mut Fields) {
            out.field(self.0);
            out.field(&self.1);
            for v in &self.2 {
                out.field(v);
            }
        }
        fn read(f: &mut FieldIter<'_>) -> Option<Row> {
            Some(Row(f.number()?, f.text()?, f.rest()))
        }
    }

    #[test]
    fn rows_come_back_as_written_tabs_newlines_and_backslashes_included() {
        let rows: Vec<Row> = (0..50_000)
            .map(|i| Row(i, format!("a\tb\\n{i}\nc"), if i % 2 == 0 { vec![] } else { vec!["".into(), "x".into()] }))
            .collect();
        let mut w = Writer::new().expect("temporary file");
        for r in &rows {
            w.push(r);
        }
        let spilled = w.finish().expect("written");
        assert_eq!(spilled.len(), 50_000);
        // Two readers at once do not disturb each other.
        let mut a = spilled.iter();
        let mut b = spilled.iter();
        assert_eq!(a.next(), Some(Row(0, "a\tb\\n0\nc".into(), vec![])));
        assert_eq!(b.next(), Some(Row(0, "a\tb\\n0\nc".into(), vec![])));
        let back: Vec<Row> = spilled.iter().collect();
        assert_eq!(back.len(), rows.len());
        assert!(back == rows);
    }
}
