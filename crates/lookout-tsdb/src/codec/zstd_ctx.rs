//! zstd with per-thread reused contexts: creating a context costs more than
//! compressing a small granule, so each thread keeps one of each.

use std::cell::RefCell;
use std::io;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `data` at `level`.
pub fn compress(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(level)?);
        }
        match c.as_mut() {
            Some(comp) => {
                comp.set_compression_level(level)?;
                comp.compress(data)
            }
            None => zstd::bulk::compress(data, level),
        }
    })
}

/// Decompresses a frame whose content is at most `capacity` bytes.
pub fn decompress(data: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(dec) => dec.decompress(data, capacity),
            None => zstd::bulk::decompress(data, capacity),
        }
    })
}
