//! One URL fetched: redirects followed (counted against `--max-redirs`), the head and body
//! written where they go, and a [`TransferReport`] of it.

use std::time::Instant;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::{Method, Uri};
use oktower::{CacheOutcome, CallTimings, Client, Response};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::redirect::{next_redirect, same_origin};
use crate::verbose::{response_head, timings_line};
use crate::{Failure, LineSink, Output, Settings, TransferReport};

/// What every transfer of one invocation shares.
pub struct Transfers<'a> {
    /// The client (one pool for every URL).
    pub client: &'a Client,
    /// The settings.
    pub settings: &'a Settings,
    /// The request body, when there is one.
    pub body: Option<Bytes>,
    /// Where `-v` lines go.
    pub sink: LineSink,
    /// Whether to draw a progress bar when writing to a file (stderr is a terminal and not
    /// `--silent`).
    pub progress: bool,
}

impl Transfers<'_> {
    /// Fetches `uri`, writing to `output` (or `stdout`), and reports on it.
    pub async fn run<W>(
        &self,
        uri: &Uri,
        output: &Output,
        stdout: &mut W,
    ) -> (Result<(), Failure>, TransferReport)
    where
        W: AsyncWrite + Unpin,
    {
        let started = Instant::now();
        let mut report = TransferReport {
            url: uri.to_string(),
            ..TransferReport::default()
        };
        let outcome = match output {
            Output::Stdout => self.fetch(uri, stdout, started, &mut report, false).await,
            Output::File(path) => match tokio::fs::File::create(path).await {
                Ok(mut file) => {
                    let progress = self.progress;
                    self.fetch(uri, &mut file, started, &mut report, progress)
                        .await
                }
                Err(error) => Err(Failure::Write(format!(
                    "cannot create {}: {error}",
                    path.display()
                ))),
            },
        };
        report.time_total = Some(started.elapsed());
        report.exit_code = outcome.as_ref().err().map_or(0, Failure::exit_code);
        (outcome, report)
    }

    async fn fetch<W>(
        &self,
        original: &Uri,
        out: &mut W,
        started: Instant,
        report: &mut TransferReport,
        progress: bool,
    ) -> Result<(), Failure>
    where
        W: AsyncWrite + Unpin,
    {
        let settings = self.settings;
        let mut uri = original.clone();
        let mut method = settings.method.clone();
        let mut keep_body = true;
        let response = loop {
            let response = self.send(original, &uri, &method, keep_body).await?;
            report.time_to_head = Some(started.elapsed());
            let Some(max) = settings.redirects else {
                break response;
            };
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|value| value.to_str().ok());
            let Some(next) = next_redirect(&method, response.status(), location, &uri) else {
                break response;
            };
            if report.redirects >= max {
                return Err(Failure::TooManyRedirects { max });
            }
            if settings.include_head {
                let head = response_head(response.version(), response.status(), response.headers());
                write(out, head.as_bytes()).await?;
            }
            // Read the redirect's body off so that its connection carries the next request.
            let _ = response.bytes().await;
            report.redirects += 1;
            uri = next.uri;
            report.url = uri.to_string();
            method = next.method;
            keep_body = keep_body && next.keep_body;
        };
        self.deliver(response, out, report, progress).await
    }

    async fn send(
        &self,
        original: &Uri,
        uri: &Uri,
        method: &Method,
        keep_body: bool,
    ) -> Result<Response, Failure> {
        let settings = self.settings;
        let trusted = same_origin(original, uri);
        let mut request = self.client.request(method.clone(), uri.clone());
        for (name, value) in &settings.headers {
            let credential = *name == AUTHORIZATION || *name == COOKIE;
            if (credential && !trusted) || (*name == CONTENT_TYPE && !keep_body) {
                continue;
            }
            request = request.header(name.clone(), value.clone());
        }
        if let (Some((user, password)), true) = (&settings.user, trusted) {
            request = request.basic_auth(user, password.as_ref());
        }
        if let Some((name, value)) = settings.cache_mode.header() {
            request = request.header(name, value);
        }
        if let (Some(body), true) = (&self.body, keep_body) {
            request = request.body(body.clone());
        }
        Ok(request.send().await?)
    }

    async fn deliver<W>(
        &self,
        mut response: Response,
        out: &mut W,
        report: &mut TransferReport,
        progress: bool,
    ) -> Result<(), Failure>
    where
        W: AsyncWrite + Unpin,
    {
        let settings = self.settings;
        let status = response.status();
        report.status = Some(status);
        report.version = Some(response.version());
        report.content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        if let Some(connection) = response.connection() {
            report.remote = Some(connection.route().socket_addr());
            report.connection_id = Some(connection.id());
        }
        let timings = response.call_timings();
        if settings.verbose
            && let Some(outcome) = response.extensions().get::<CacheOutcome>()
        {
            (self.sink)(&format!("* cache outcome: {outcome:?}"));
        }
        if settings.fail && (status.is_client_error() || status.is_server_error()) {
            drop(response);
            self.finish(timings, report);
            return Err(Failure::HttpStatus(status));
        }
        if settings.include_head {
            let head = response_head(response.version(), status, response.headers());
            write(out, head.as_bytes()).await?;
        }
        let bar = progress.then(|| progress_bar(response.content_length()));
        let mut outcome = Ok(());
        if !settings.head_only {
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        report.size_download += chunk.len() as u64;
                        if let Some(bar) = &bar {
                            bar.inc(chunk.len() as u64);
                        }
                        if let Err(failure) = write(out, &chunk).await {
                            outcome = Err(failure);
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        outcome = Err(Failure::Http(error));
                        break;
                    }
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        drop(response);
        if let Err(error) = out.flush().await {
            outcome = outcome.and(Err(Failure::Write(format!("cannot write: {error}"))));
        }
        self.finish(timings, report);
        outcome
    }

    /// Records the call's timings once it has ended, and shows them with `-v`.
    fn finish(&self, timings: Option<CallTimings>, report: &mut TransferReport) {
        if let Some(timings) = timings {
            report.timings = timings.timings();
        }
        if self.settings.verbose {
            (self.sink)(&timings_line(&report.timings));
            let pool = self.client.connection_pool();
            (self.sink)(&format!(
                "* pool: {} connection(s), {} idle",
                pool.connection_count(),
                pool.idle_connection_count()
            ));
        }
    }
}

/// A progress bar on stderr: bytes of the known length, or a spinner.
fn progress_bar(length: Option<u64>) -> indicatif::ProgressBar {
    let target = indicatif::ProgressDrawTarget::stderr();
    let bar = indicatif::ProgressBar::with_draw_target(length, target);
    let style = match length {
        Some(_) => "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        None => "{spinner} {bytes} {bytes_per_sec}",
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(style);
    }
    bar
}

async fn write<W: AsyncWrite + Unpin>(out: &mut W, bytes: &[u8]) -> Result<(), Failure> {
    out.write_all(bytes)
        .await
        .map_err(|error| Failure::Write(format!("cannot write the response: {error}")))
}
