//! Remote-write 1.0 request bodies: protobuf `prometheus.WriteRequest`,
//! block-compressed with raw (not framed) Snappy.
//!
//! The protobuf is encoded by hand: the message is three nested repeated
//! fields, and encoding straight from pre-rendered label bytes is several
//! times faster than building `prost` structs per sample (the generator must
//! outrun the receivers it feeds). The test suite checks the bytes against
//! `prost`-derived message types.
//!
//! Body file layout (`--format remote-write`): a sequence of records
//! `length (u32, big-endian) | snappy-compressed WriteRequest`, nothing else.

use crate::dataset::{Spec, TimeMajor};
use lookout_model::labels::Labels;
use std::io::{self, Read, Write};

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_len_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Encoded `repeated Label labels = 1` entries of a `TimeSeries` for one
/// label set (reused for every sample of the series).
pub fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    let mut label = Vec::with_capacity(64);
    for l in labels {
        label.clear();
        put_len_field(&mut label, 0x0a, l.name.as_bytes());
        put_len_field(&mut label, 0x12, l.value.as_bytes());
        put_len_field(&mut out, 0x0a, &label);
    }
    out
}

/// Appends one `TimeSeries { labels, samples: [ {value, timestamp} ] }` as
/// field 1 of a `WriteRequest`.
pub fn push_series(req: &mut Vec<u8>, encoded_labels: &[u8], t: i64, v: f64) {
    // Sample: 0x09 + 8 bytes double, 0x10 + varint(int64 two's complement).
    let mut sample = [0u8; 1 + 8 + 1 + 10];
    sample[0] = 0x09;
    sample[1..9].copy_from_slice(&v.to_le_bytes());
    sample[9] = 0x10;
    let mut n = 10;
    let mut x = t as u64;
    while x >= 0x80 {
        sample[n] = (x as u8) | 0x80;
        x >>= 7;
        n += 1;
    }
    sample[n] = x as u8;
    n += 1;
    let series_len = encoded_labels.len() + 1 + 1 + n;
    req.push(0x0a);
    put_uvarint(req, series_len as u64);
    req.extend_from_slice(encoded_labels);
    req.push(0x12);
    req.push(n as u8);
    req.extend_from_slice(&sample[..n]);
}

/// Summary of a body file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodiesWritten {
    /// Requests written.
    pub requests: u64,
    /// Samples in all requests.
    pub samples: u64,
    /// Bytes written (headers included).
    pub bytes: u64,
}

/// Writes the dataset time-major as remote-write bodies of
/// `samples_per_request` samples each (one sample per `TimeSeries`), every
/// body length-prefixed (u32 big-endian).
pub fn write_bodies<W: Write>(
    spec: &Spec,
    samples_per_request: usize,
    mut w: W,
) -> io::Result<BodiesWritten> {
    let per_req = samples_per_request.max(1);
    let labels: Vec<Vec<u8>> = (0..spec.series())
        .map(|i| encode_labels(&spec.labels(i)))
        .collect();
    let mut encoder = snap::raw::Encoder::new();
    let mut req = Vec::with_capacity(per_req * 96);
    let mut compressed = Vec::new();
    let mut out = BodiesWritten::default();
    let mut in_req = 0usize;
    let mut flush = |req: &mut Vec<u8>, out: &mut BodiesWritten, w: &mut W| -> io::Result<()> {
        compressed.resize(snap::raw::max_compress_len(req.len()), 0);
        let n = encoder
            .compress(req, &mut compressed)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let len = u32::try_from(n)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "request body over 4 GiB"))?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(&compressed[..n])?;
        out.requests += 1;
        out.bytes += 4 + n as u64;
        req.clear();
        Ok(())
    };
    for s in TimeMajor::new(spec) {
        let l = labels
            .get(s.series as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        push_series(&mut req, l, s.t, s.v);
        out.samples += 1;
        in_req += 1;
        if in_req == per_req {
            flush(&mut req, &mut out, &mut w)?;
            in_req = 0;
        }
    }
    if in_req > 0 {
        flush(&mut req, &mut out, &mut w)?;
    }
    w.flush()?;
    Ok(out)
}

/// Reads a body file back into its (still compressed) bodies.
pub fn read_bodies<R: Read>(mut r: R) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut len = [0u8; 4];
    loop {
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) => return Err(e),
        }
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        r.read_exact(&mut body)?;
        out.push(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{series_major, Entropy};
    use prost::Message;

    #[derive(Clone, PartialEq, prost::Message)]
    struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        timeseries: Vec<TimeSeries>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        samples: Vec<Sample>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct Label {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(string, tag = "2")]
        value: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct Sample {
        #[prost(double, tag = "1")]
        value: f64,
        #[prost(int64, tag = "2")]
        timestamp: i64,
    }

    #[test]
    fn bodies_decode_with_prost_and_hold_every_sample() {
        let spec = Spec {
            metrics: 5,
            series_per_metric: 3,
            start_ms: -30_000, // negative timestamps exercise 10-byte varints
            interval_ms: 15_000,
            points: 7,
            seed: 9,
            entropy: Entropy::HighEntropy,
            idx_label: true,
            metric_prefix: "rw".into(),
            job: "j".into(),
        };
        let mut file = Vec::new();
        let w = write_bodies(&spec, 4, &mut file).unwrap();
        assert_eq!(w.samples, spec.samples());
        assert_eq!(w.requests, spec.samples().div_ceil(4));
        assert_eq!(w.bytes as usize, file.len());
        let mut got = Vec::new();
        for body in read_bodies(&file[..]).unwrap() {
            let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
            let req = WriteRequest::decode(&raw[..]).unwrap();
            assert!(req.timeseries.len() <= 4);
            for ts in req.timeseries {
                let labels =
                    Labels::from_pairs(ts.labels.iter().map(|l| (l.name.clone(), l.value.clone())));
                assert_eq!(ts.samples.len(), 1);
                got.push((
                    labels,
                    ts.samples[0].timestamp,
                    ts.samples[0].value.to_bits(),
                ));
            }
        }
        let mut want: Vec<_> = series_major(&spec)
            .map(|s| (spec.labels(s.series), s.t, s.v.to_bits()))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        want.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(got, want);
    }
}
