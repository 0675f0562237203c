//! Where a call's follow-up loop stands, and its steps (the loop of OkHttp's
//! `RetryAndFollowUpInterceptor.intercept`, without the waiting).

use std::mem;
use std::sync::Arc;

use http::header::PROXY_AUTHORIZATION;
use http::{HeaderMap, Request, Response, request, response};
use tower_service::Service;

use super::MAX_FOLLOW_UPS;
use super::decision::{Exchange, FollowUp, decide};
use super::layer::Settings;
use super::prior_response::FinalUri;
use super::recover::{RecoverInput, recover};
use super::redirect::Redirect;
use super::replay::replay_copy;
use crate::{
    AuthContext, AuthFuture, CallContext, ConnectionInfo, Error, ErrorKind, EventListener,
    PriorResponse, ReplayBody,
};

/// The state of one call's follow-up loop between attempts.
pub(crate) struct Progress<S, B>
where
    S: Service<Request<B>>,
{
    /// The inner service, owned by this call.
    pub(crate) service: S,
    settings: Arc<Settings>,
    /// The head of the request in flight. Its extensions are lent to the request in flight
    /// when they hold only the call's context (see `lent_context`).
    head: request::Parts,
    /// The call's context, when the head's extensions held nothing else and were moved into
    /// the request in flight instead of copied (a copy of an extension map costs three
    /// allocations); they are rebuilt from it if the request is sent again.
    lent_context: Option<CallContext>,
    /// A copy of its body to send again; `None` when it can be sent only once.
    body: Option<B>,
    /// Follow-ups made so far.
    follow_ups: usize,
    /// Failures recovered from, oldest first.
    recovered: Vec<Error>,
    /// The responses followed up, newest first.
    prior: Option<PriorResponse>,
    /// The `401` whose authenticator's answer is awaited (boxed, as the next field: both are
    /// rare, and every call's future holds room for them).
    awaiting_answer: Option<Box<S::Response>>,
    /// The follow-up to make once the body of the response that asked for it is drained.
    after_drain: Option<Box<PendingFollowUp<B>>>,
}

/// A follow-up decided on, waiting for the previous response's body to be read off.
struct PendingFollowUp<B> {
    head: response::Parts,
    next: Option<request::Parts>,
    next_body: B,
}

/// What the loop does next.
pub(crate) enum Next<B, R> {
    /// Send this request (once the service is ready).
    Send(Request<B>),
    /// Wait for the authenticator's answer.
    Authenticate(AuthFuture),
    /// Read off the body of the response being followed up (so that its connection can be
    /// reused), then call [`Progress::after_drain`].
    Drain(R),
    /// The call is over.
    Done(Result<R, Error>),
}

impl<S, B, RB> Progress<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    B: ReplayBody,
{
    /// The loop for `request`, and its first step.
    pub(crate) fn start(
        service: S,
        settings: Arc<Settings>,
        request: Request<B>,
    ) -> (Self, Next<B, S::Response>) {
        let (head, body) = request.into_parts();
        let mut progress = Progress {
            service,
            settings,
            head,
            lent_context: None,
            body: None,
            follow_ups: 0,
            recovered: Vec::new(),
            prior: None,
            awaiting_answer: None,
            after_drain: None,
        };
        let next = progress.send(body);
        (progress, next)
    }

    /// The next step after an attempt ended with `outcome`.
    pub(crate) fn on_outcome(
        &mut self,
        outcome: Result<S::Response, Error>,
    ) -> Next<B, S::Response> {
        match outcome {
            Ok(response) => self.on_response(response),
            Err(error) => self.on_failure(error),
        }
    }

    /// The next step once the authenticator answered the awaited `401`.
    pub(crate) fn on_authentication(
        &mut self,
        answer: Result<Option<HeaderMap>, Error>,
    ) -> Next<B, S::Response> {
        let response = self
            .awaiting_answer
            .take()
            .expect("an authenticator's answer follows the 401 it was asked about");
        let (head, body) = (*response).into_parts();
        self.answered(head, body, answer)
    }

    /// Sends the request in flight with `body`, keeping a copy of the body; fails instead if
    /// the call was canceled.
    fn send(&mut self, body: B) -> Next<B, S::Response> {
        self.restore_extensions();
        if CallContext::is_canceled_in(&self.head.extensions) {
            let canceled = Error::new(ErrorKind::Canceled, "Canceled").with_url(self.url());
            return Next::Done(Err(self.fail(canceled)));
        }
        self.body = replay_copy(&body);
        Next::Send(Request::from_parts(self.head_to_send(), body))
    }

    /// A copy of the head to send. Extensions holding only the call's context are moved
    /// rather than copied, and the context is kept in `lent_context`.
    fn head_to_send(&mut self) -> request::Parts {
        let context = CallContext::of(&self.head.extensions);
        if let Some(context) = context {
            context.mark_retry_decider();
        }
        let context_only = match context {
            Some(context) if self.head.extensions.len() == 1 => Some(context.clone()),
            _ => None,
        };
        let Some(context) = context_only else {
            return self.head.clone();
        };
        self.lent_context = Some(context);
        let (mut sent, ()) = Request::new(()).into_parts();
        sent.method = self.head.method.clone();
        sent.uri = self.head.uri.clone();
        sent.version = self.head.version;
        sent.headers = self.head.headers.clone();
        sent.extensions = mem::take(&mut self.head.extensions);
        sent
    }

    /// Gives the head back the extensions lent to the request in flight (rebuilt: that
    /// request is gone), before the head is copied into another request or shown to a
    /// decision that may copy it.
    fn restore_extensions(&mut self) {
        if let Some(context) = self.lent_context.take() {
            self.head.extensions.insert(context);
        }
    }

    fn on_failure(&mut self, mut error: Error) -> Next<B, S::Response> {
        let retry = recover(
            &error,
            &RecoverInput {
                retry_on_connection_failure: self.settings.policy.retry_on_connection_failure,
                body_replayable: self.body.is_some(),
                recovered: self.recovered.len(),
            },
        );
        self.listener().retry_decision(&error, retry);
        // The failed exchange's connection was released before this decision; OkHttp
        // reports the release after it.
        if let Some(released) = error.take_unreported_release() {
            self.listener().connection_released(&released);
        }
        match self.body.take() {
            Some(body) if retry => {
                self.recovered.push(error);
                self.send(body)
            }
            _ => Next::Done(Err(self.fail(error))),
        }
    }

    fn on_response(&mut self, response: S::Response) -> Next<B, S::Response> {
        let (head, body) = response.into_parts();
        // Only a response that is not a success may be followed up, with a copy of the head.
        if !head.status.is_success() {
            self.restore_extensions();
        }
        let decision = decide(
            &Exchange {
                request: &self.head,
                response: &head,
                prior_status: self.prior.as_ref().map(PriorResponse::status),
                body_replayable: self.body.is_some(),
                connection: head.extensions.get::<ConnectionInfo>(),
            },
            &self.settings.policy,
        );
        let follow_up = match decision {
            Ok(follow_up) => follow_up,
            Err(error) => return Next::Done(Err(self.fail(error))),
        };
        match follow_up {
            FollowUp::Final => self.finish(head, body),
            FollowUp::Redirect(redirect) => {
                let Redirect {
                    head: next,
                    keep_body,
                } = *redirect;
                let next_body = if keep_body {
                    self.body.take()
                } else {
                    Some(B::empty())
                };
                self.follow(head, body, Some(next), next_body)
            }
            FollowUp::Repeat => {
                let next_body = self.body.take();
                self.follow(head, body, None, next_body)
            }
            FollowUp::RepeatOnFreshConnection => {
                if let Some(connection) = head.extensions.get::<ConnectionInfo>() {
                    connection.mark_no_coalesced_exchanges();
                }
                let next_body = self.body.take();
                self.follow(head, body, None, next_body)
            }
            FollowUp::Authenticate => {
                let route = head
                    .extensions
                    .get::<ConnectionInfo>()
                    .map(ConnectionInfo::route);
                let context = AuthContext::new(&self.head, &head, route);
                match self
                    .settings
                    .authenticator
                    .authenticate(&context)
                    .now_or_later()
                {
                    Ok(answer) => self.answered(head, body, answer),
                    Err(later) => {
                        self.awaiting_answer = Some(Box::new(Response::from_parts(head, body)));
                        Next::Authenticate(later)
                    }
                }
            }
            FollowUp::ProxyAuthenticate => {
                let authorization =
                    head.extensions
                        .get::<ConnectionInfo>()
                        .and_then(|connection| {
                            self.settings
                                .proxy_authenticator
                                .authenticate(connection.route(), &head)
                        });
                let Some(authorization) = authorization else {
                    return self.finish(head, body);
                };
                let mut next = self.head.clone();
                next.headers.insert(PROXY_AUTHORIZATION, authorization);
                let next_body = self.body.take();
                self.follow(head, body, Some(next), next_body)
            }
        }
    }

    /// Follows up the `401` `head` with the authenticator's `answer`.
    fn answered(
        &mut self,
        head: response::Parts,
        body: RB,
        answer: Result<Option<HeaderMap>, Error>,
    ) -> Next<B, S::Response> {
        match answer {
            Err(error) => Next::Done(Err(self.fail(error))),
            Ok(None) => self.finish(head, body),
            Ok(Some(headers)) => {
                let mut next = self.head.clone();
                next.headers.extend(headers);
                let next_body = self.body.take();
                self.follow(head, body, Some(next), next_body)
            }
        }
    }

    /// Closes the response (`head`, `body`) and sends `next` (the same request when `None`)
    /// with `next_body`, unless the follow-ups are exhausted.
    fn follow(
        &mut self,
        head: response::Parts,
        body: RB,
        next: Option<request::Parts>,
        next_body: Option<B>,
    ) -> Next<B, S::Response> {
        let Some(next_body) = next_body else {
            // No body to send again: the decision already made such follow-ups final.
            return self.finish(head, body);
        };
        self.after_drain = Some(Box::new(PendingFollowUp {
            head,
            next,
            next_body,
        }));
        // The head goes with the body only to make a response the future can hold.
        Next::Drain(Response::new(body))
    }

    /// Sends the follow-up decided on before the previous response's body was drained.
    pub(crate) fn after_drain(&mut self) -> Next<B, S::Response> {
        let PendingFollowUp {
            head,
            next,
            next_body,
        } = *self
            .after_drain
            .take()
            .expect("a drain happens only for a pending follow-up");
        self.follow_ups += 1;
        if self.follow_ups > MAX_FOLLOW_UPS {
            self.listener().follow_up_decision(&head, None);
            let message = format!("Too many follow-up requests: {}", self.follow_ups);
            let error = Error::new(ErrorKind::Protocol, message).with_url(self.url());
            return Next::Done(Err(self.fail(error)));
        }
        self.listener()
            .follow_up_decision(&head, Some(next.as_ref().unwrap_or(&self.head)));
        let (method, uri) = match next {
            Some(next) => {
                let answered = mem::replace(&mut self.head, next);
                (answered.method, answered.uri)
            }
            None => (self.head.method.clone(), self.head.uri.clone()),
        };
        self.prior = Some(PriorResponse::new(method, uri, head, self.prior.take()));
        self.send(next_body)
    }

    /// Returns the response (`head`, `body`) as the call's, with the responses followed up
    /// before it.
    fn finish(&mut self, mut head: response::Parts, body: RB) -> Next<B, S::Response> {
        if let Some(prior) = self.prior.take() {
            head.extensions.insert(prior);
            head.extensions.insert(FinalUri(self.head.uri.clone()));
        }
        self.listener().follow_up_decision(&head, None);
        Next::Done(Ok(Response::from_parts(head, body)))
    }

    /// `error` with the failures recovered from attached.
    fn fail(&mut self, error: Error) -> Error {
        self.recovered
            .drain(..)
            .fold(error, |error, earlier| error.with_recovered(earlier))
    }

    fn listener(&self) -> &dyn EventListener {
        match &self.lent_context {
            Some(context) => context.listener(),
            None => CallContext::listener_in(&self.head.extensions),
        }
    }

    fn url(&self) -> String {
        self.head.uri.to_string()
    }
}
