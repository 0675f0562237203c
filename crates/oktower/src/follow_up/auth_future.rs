//! The answer of an authenticator, now or later.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderMap;

use crate::Error;

/// The answer of an [`Authenticator`](crate::Authenticator) (by default, the headers to set on
/// the retried request, or `None` to give up) or of a [`TokenProvider`](crate::TokenProvider)
/// (a token, or `None`).
///
/// Most answers are known at once and cost nothing: [`ready`](Self::ready),
/// [`give_up`](Self::give_up), [`headers`](Self::headers) and [`failed`](Self::failed) allocate
/// no future, and the follow-up layer takes their value without polling. An answer that needs
/// I/O (refreshing a token) is a boxed future made with [`new`](Self::new): one allocation per
/// challenge answered, never per request.
///
/// An error fails the call with that error, as an exception thrown by an OkHttp
/// `Authenticator` does.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// use oktower::AuthFuture;
///
/// # tokio_test_block_on(async {
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer fresh"));
/// let later = AuthFuture::new(async move { Ok(Some(headers)) });
/// let answer = later.await.unwrap().unwrap();
/// assert_eq!(answer[AUTHORIZATION], "Bearer fresh");
///
/// assert!(AuthFuture::give_up().await.unwrap().is_none());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
/// # }
/// ```
#[must_use = "an AuthFuture does nothing unless awaited"]
pub struct AuthFuture<T = Option<HeaderMap>> {
    state: State<T>,
}

enum State<T> {
    /// The answer, until taken.
    Ready(Option<Result<T, Error>>),
    /// An answer still being worked out.
    Pending(Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>),
}

impl<T> AuthFuture<T> {
    /// An answer known now.
    pub fn ready(value: T) -> Self {
        AuthFuture {
            state: State::Ready(Some(Ok(value))),
        }
    }

    /// A failure known now.
    pub fn failed(error: Error) -> Self {
        AuthFuture {
            state: State::Ready(Some(Err(error))),
        }
    }

    /// An answer that `future` will give (boxed once).
    pub fn new<F>(future: F) -> Self
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        AuthFuture {
            state: State::Pending(Box::pin(future)),
        }
    }

    /// The answer passed through `f` once known (without a new allocation when it is known
    /// now).
    pub fn and_then<U, F>(self, f: F) -> AuthFuture<U>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Result<U, Error> + Send + 'static,
    {
        match self.state {
            State::Ready(Some(answer)) => match answer.and_then(f) {
                Ok(value) => AuthFuture::ready(value),
                Err(error) => AuthFuture::failed(error),
            },
            State::Ready(None) => AuthFuture {
                state: State::Ready(None),
            },
            State::Pending(future) => AuthFuture::new(async move { future.await.and_then(f) }),
        }
    }

    /// The answer if it is known now, else the future itself.
    pub(crate) fn now_or_later(self) -> Result<Result<T, Error>, Self> {
        match self.state {
            State::Ready(Some(answer)) => Ok(answer),
            state => Err(AuthFuture { state }),
        }
    }
}

impl AuthFuture {
    /// Declines the challenge: the response is returned as final.
    pub fn give_up() -> Self {
        AuthFuture::ready(None)
    }

    /// Retries with `headers` set on the request (replacing the values it had for them).
    pub fn headers(headers: HeaderMap) -> Self {
        AuthFuture::ready(Some(headers))
    }
}

impl<T> Future for AuthFuture<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Ready(answer) => {
                Poll::Ready(answer.take().expect("AuthFuture polled after completion"))
            }
            State::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

// The answer is never pinned: a pending future is boxed.
impl<T> Unpin for AuthFuture<T> {}

impl<T> fmt::Debug for AuthFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready(Some(_)) => "ready",
            State::Ready(None) => "taken",
            State::Pending(_) => "pending",
        };
        f.debug_struct("AuthFuture").field("state", &state).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

    fn authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn ready_answers_are_taken_without_polling() {
        let answer = AuthFuture::headers(authorization("Basic x"))
            .now_or_later()
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(answer[AUTHORIZATION], "Basic x");
        assert!(
            AuthFuture::give_up()
                .now_or_later()
                .unwrap()
                .unwrap()
                .is_none()
        );
        let failed = AuthFuture::<()>::failed(Error::new(ErrorKind::Io, "token endpoint down"));
        assert_eq!(
            failed.now_or_later().unwrap().unwrap_err().message(),
            "token endpoint down"
        );
        let pending = AuthFuture::new(async { Ok(Some(authorization("Basic y"))) });
        assert!(pending.now_or_later().is_err());
    }

    #[test]
    fn and_then_maps_now_or_later() {
        let mapped = AuthFuture::ready(2).and_then(|n| Ok(n * 10));
        assert_eq!(mapped.now_or_later().unwrap().unwrap(), 20);
        let refused = AuthFuture::ready(2)
            .and_then(|_| Err::<u8, _>(Error::new(ErrorKind::Builder, "bad token")));
        assert!(refused.now_or_later().unwrap().unwrap_err().is_builder());
        let failed =
            AuthFuture::<u8>::failed(Error::new(ErrorKind::Io, "down")).and_then(|n| Ok(n + 1));
        assert!(failed.now_or_later().unwrap().unwrap_err().is_io());
        let later = AuthFuture::new(async { Ok(4) }).and_then(|n| Ok(n + 1));
        let later = later.now_or_later().unwrap_err();
        assert_eq!(format!("{later:?}"), "AuthFuture { state: \"pending\" }");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(later).unwrap(), 5);
    }

    #[tokio::test]
    async fn awaiting_gives_the_answer() {
        assert_eq!(AuthFuture::ready(7).await.unwrap(), 7);
        assert_eq!(AuthFuture::new(async { Ok(8) }).await.unwrap(), 8);
        assert!(
            AuthFuture::<u8>::failed(Error::new(ErrorKind::Io, "x"))
                .await
                .is_err()
        );
    }
}
