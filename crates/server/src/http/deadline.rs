//! A total deadline on reading a request body. hyper times out only the headers, and
//! tower-http's `RequestBodyTimeoutLayer` restarts its timer on every frame, so a client
//! sending one byte a second would never trip it; this deadline counts from the end of
//! the headers, whatever the client sends in between.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The body did not arrive before its deadline.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {0} s")]
pub struct BodyTimedOut(pub u64);

/// `body`, failing with [`BodyTimedOut`] once `timeout` has passed since it was wrapped.
#[derive(Debug)]
pub struct DeadlineBody<B> {
    body: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl<B> DeadlineBody<B> {
    /// Wraps `body`; the clock starts now.
    pub fn new(body: B, timeout: Duration) -> Self {
        Self {
            body,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // Data already here wins over the deadline, so a body that arrived in time is
        // never cut by a late poll.
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.timeout.as_secs())))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The [`BodyTimedOut`] somewhere in `error`'s source chain, if any.
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> Option<BodyTimedOut> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<BodyTimedOut>() {
            return Some(*t);
        }
        current = e.source();
    }
    None
}
