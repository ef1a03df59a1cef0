//! The body every handler of both binaries answers with: bytes already in memory (JSON,
//! `/metrics`, the embedded page), a file streamed from disk in bounded chunks (the
//! portal's `static_dir`), so serving a large file never holds the whole file per request,
//! or frames from a stream polled only as the client takes them (the portal's event
//! stream).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

/// How much of a file one frame carries: the most a streamed file holds in memory.
pub const FILE_CHUNK_BYTES: usize = 64 * 1024;

/// A response body: [`Body::new`] for bytes in memory, [`Body::file`] for a file.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(Full<Bytes>),
    File(FileBody),
    Stream(Pin<Box<dyn futures_util::Stream<Item = Bytes> + Send + Sync>>),
}

impl Body {
    /// A body of these bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Full(Full::new(bytes.into())),
        }
    }

    /// An empty body (HEAD answers, redirects).
    pub fn empty() -> Self {
        Self::new(Bytes::new())
    }

    /// The first `len` bytes of `file`, read [`FILE_CHUNK_BYTES`] at a time as the
    /// client takes them. A file that turns out shorter than `len` (truncated while
    /// served) ends the body with an error, so the client sees a broken transfer rather
    /// than a short file announced as complete.
    pub fn file(file: tokio::fs::File, len: u64) -> Self {
        Self {
            kind: Kind::File(FileBody {
                file,
                remaining: len,
                buf: Vec::new(),
            }),
        }
    }
}

impl Body {
    /// A body of the frames `stream` yields, ending with it. It is polled only when the
    /// connection can take a frame, so the body holds nothing for a client that does not
    /// read: the stream decides what to do about one that falls behind.
    pub fn stream(stream: impl futures_util::Stream<Item = Bytes> + Send + Sync + 'static) -> Self {
        Self {
            kind: Kind::Stream(Box::pin(stream)),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Full(_) => f.write_str("Body::Full"),
            Kind::File(b) => write!(f, "Body::File({} bytes left)", b.remaining),
            Kind::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    /// The read buffer, kept between frames (at most [`FILE_CHUNK_BYTES`]).
    buf: Vec<u8>,
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map(|f| f.map(|f| f.map_err(|never| match never {}))),
            Kind::File(file) => file.poll_chunk(cx),
            Kind::Stream(s) => s
                .as_mut()
                .poll_next(cx)
                .map(|f| f.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(full) => full.is_end_stream(),
            Kind::File(file) => file.remaining == 0,
            Kind::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(full) => full.size_hint(),
            Kind::File(file) => SizeHint::with_exact(file.remaining),
            Kind::Stream(_) => SizeHint::default(),
        }
    }
}

impl FileBody {
    fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let want =
            usize::try_from(self.remaining).map_or(FILE_CHUNK_BYTES, |r| r.min(FILE_CHUNK_BYTES));
        self.buf.resize(want, 0);
        let mut read = ReadBuf::new(&mut self.buf);
        match Pin::new(&mut self.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    self.remaining = 0;
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file got shorter while it was served",
                    ))));
                }
                self.remaining -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(
                    &self.buf[..n],
                )))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn a_file_streams_in_bounded_chunks_and_says_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let content: Vec<u8> = (0..(3 * FILE_CHUNK_BYTES + 17)).map(|i| i as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let file = tokio::fs::File::open(&path).await.unwrap();
        let mut body = Body::file(file, content.len() as u64);
        assert_eq!(
            hyper::body::Body::size_hint(&body).exact(),
            Some(content.len() as u64)
        );
        let mut got = Vec::new();
        let mut frames = 0;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            assert!(data.len() <= FILE_CHUNK_BYTES, "{}", data.len());
            got.extend_from_slice(&data);
            frames += 1;
        }
        assert_eq!(got, content);
        assert!(frames >= 4, "{frames}");
        assert!(hyper::body::Body::is_end_stream(&body));
    }

    #[tokio::test]
    async fn a_file_shorter_than_announced_ends_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.txt");
        std::fs::write(&path, b"hello").unwrap();
        let file = tokio::fs::File::open(&path).await.unwrap();
        let body = Body::file(file, 10);
        let err = body.collect().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn bytes_are_one_frame() {
        let body = Body::new("{\"ok\":true}");
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(11));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"{\"ok\":true}");
    }
}
