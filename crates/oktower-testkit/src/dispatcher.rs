//! Choosing the response for each request.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{MockResponse, RecordedRequest};

/// Chooses the response for each request.
///
/// Any `Fn(&RecordedRequest) -> MockResponse` is a dispatcher, which makes dynamic answers a
/// closure:
///
/// ```
/// use oktower_testkit::{Dispatcher, MockResponse, RecordedRequest};
///
/// let echo = |request: &RecordedRequest| {
///     MockResponse::new().body(format!("{} {}", request.method(), request.path()))
/// };
/// fn takes_dispatcher(_: impl Dispatcher) {}
/// takes_dispatcher(echo);
/// ```
pub trait Dispatcher: Send + Sync + 'static {
    /// Returns the response to `request`, which has been read in full (or has a
    /// [`failure`](RecordedRequest::failure)).
    fn dispatch(&self, request: &RecordedRequest) -> MockResponse;

    /// The response that the next call to [`dispatch`](Self::dispatch) would return, if known
    /// in advance. The server reads it when a connection is accepted (for connection faults)
    /// and after a request head (for request-body behaviour such as `Expect: 100-continue`).
    /// `None`, the default, means "a plain response".
    fn peek(&self) -> Option<MockResponse> {
        None
    }
}

impl<F> Dispatcher for F
where
    F: Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static,
{
    fn dispatch(&self, request: &RecordedRequest) -> MockResponse {
        self(request)
    }
}

/// The default dispatcher: answers with queued responses in FIFO order, then with a default
/// response once the queue is empty (`404 Not Found` unless changed).
#[derive(Debug)]
pub struct QueueDispatcher {
    state: Mutex<QueueState>,
}

#[derive(Debug)]
struct QueueState {
    queue: VecDeque<MockResponse>,
    when_empty: MockResponse,
}

impl Default for QueueDispatcher {
    fn default() -> Self {
        QueueDispatcher::new()
    }
}

impl QueueDispatcher {
    /// An empty queue whose default response is `404 Not Found`.
    pub fn new() -> Self {
        QueueDispatcher {
            state: Mutex::new(QueueState {
                queue: VecDeque::new(),
                when_empty: MockResponse::new()
                    .status(404)
                    .body("oktower-testkit: no response queued"),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The state holds no invariant a panic could break halfway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `response` after those already queued.
    pub fn enqueue(&self, response: MockResponse) {
        self.lock().queue.push_back(response);
    }

    /// Sets the response served when the queue is empty.
    pub fn set_default_response(&self, response: MockResponse) {
        self.lock().when_empty = response;
    }

    /// How many responses are still queued.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no response is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().queue.is_empty()
    }
}

impl Dispatcher for QueueDispatcher {
    fn dispatch(&self, _request: &RecordedRequest) -> MockResponse {
        let mut state = self.lock();
        match state.queue.pop_front() {
            Some(response) => response,
            None => state.when_empty.clone(),
        }
    }

    fn peek(&self) -> Option<MockResponse> {
        let state = self.lock();
        Some(state.queue.front().unwrap_or(&state.when_empty).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_fifo_then_default() {
        let queue = QueueDispatcher::new();
        queue.enqueue(MockResponse::new().status(201));
        queue.enqueue(MockResponse::new().status(202));
        let request = RecordedRequest::new(0, 0);
        assert_eq!(queue.peek().map(|r| r.status_code()), Some(201));
        assert_eq!(queue.dispatch(&request).status_code(), 201);
        assert_eq!(queue.dispatch(&request).status_code(), 202);
        assert_eq!(queue.dispatch(&request).status_code(), 404);
        queue.set_default_response(MockResponse::new().status(204));
        assert_eq!(queue.dispatch(&request).status_code(), 204);
        assert!(queue.is_empty());
    }
}
