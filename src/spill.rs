//! Rows kept on disk instead of in memory: with `--max-rows 0` every row of the long tables
//! (steps, tracker rows, messages, log records) is written to a temporary file as it is made
//! and read back one at a time when the report is printed, so memory does not grow with the
//! number of rows printed.
//!
//! A row is one line of JSON (serde_json escapes the newlines inside strings). On Unix the
//! file is unlinked as soon as it is created: nothing is left behind, even when the run is
//! killed.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

impl<T: Serialize> Writer<T> {
    /// Rows in a new temporary file.
    pub fn new() -> io::Result<Writer<T>> {
        Ok(Writer { backing: Arc::new(Backing::create()?), buf: Vec::new(), len: 0, error: None, _row: PhantomData })
    }

    /// Adds a row.
    pub fn push(&mut self, row: &T) {
        // (Serializing plain rows into a Vec cannot fail.)
        serde_json::to_writer(&mut self.buf, row).expect("a row serializes");
        self.buf.push(b'\n');
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

impl<T: DeserializeOwned> Rows<T> {
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
            serde_json::from_str(&line).ok()
        })
    }
}

/// Rendered table rows (a row's cells) in a temporary file, for a long table printed in
/// several passes: each cell is a length and its bytes, so reading one back is a copy, with no
/// parsing and no formatting again.
pub(crate) struct CellWriter {
    backing: Backing,
    buf: Vec<u8>,
    error: Option<io::Error>,
}

impl CellWriter {
    pub(crate) fn new() -> io::Result<CellWriter> {
        Ok(CellWriter { backing: Backing::create()?, buf: Vec::with_capacity(CHUNK), error: None })
    }

    pub(crate) fn push(&mut self, row: &[String]) {
        self.buf.extend_from_slice(&(row.len() as u32).to_le_bytes());
        for cell in row {
            self.buf.extend_from_slice(&(cell.len() as u32).to_le_bytes());
            self.buf.extend_from_slice(cell.as_bytes());
        }
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = (&self.backing.file).write_all(&self.buf)
        {
            self.error = Some(e);
        }
        self.buf.clear();
    }

    /// The rows written, ready to be read from the first.
    pub(crate) fn finish(mut self) -> io::Result<CellRows> {
        self.flush();
        if let Some(e) = self.error {
            return Err(e);
        }
        let end = self.backing.file.metadata()?.len();
        Ok(CellRows { backing: self.backing, end })
    }
}

/// Rows a [`CellWriter`] wrote.
pub(crate) struct CellRows {
    backing: Backing,
    end: u64,
}

impl CellRows {
    /// The rows from the first; a read error ends them (the write was checked in `finish`).
    pub(crate) fn iter(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        let mut reader = BufReader::with_capacity(CHUNK, Cursor { backing: &self.backing, at: 0, end: self.end });
        let mut word = [0u8; 4];
        let mut next = move |r: &mut BufReader<Cursor<'_>>| -> Option<usize> {
            r.read_exact(&mut word).ok()?;
            Some(u32::from_le_bytes(word) as usize)
        };
        std::iter::from_fn(move || {
            let n = next(&mut reader)?;
            let mut row = Vec::with_capacity(n);
            for _ in 0..n {
                let len = next(&mut reader)?;
                let mut bytes = vec![0; len];
                reader.read_exact(&mut bytes).ok()?;
                row.push(String::from_utf8(bytes).ok()?);
            }
            Some(row)
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
    use super::{CellWriter, Writer};

    #[test]
    fn cells_come_back_as_written() {
        let rows: Vec<Vec<String>> =
            (0..30_000).map(|i| (0..i % 4).map(|c| format!("{c}: é\n|{}", "x".repeat(i % 7))).collect()).collect();
        let mut w = CellWriter::new().expect("temporary file");
        for r in &rows {
            w.push(r);
        }
        let back: Vec<Vec<String>> = w.finish().expect("written").iter().collect();
        assert!(back == rows, "{} rows back", back.len());
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row(u64, String, Vec<String>);

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
