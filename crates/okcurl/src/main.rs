//! The `okcurl` command: parses the command line, builds one oktower client, fetches each URL
//! in order and exits with curl's code for the first failure.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use okcurl::{
    Args, Failure, LineSink, Settings, TlsMaterial, Transfers, assemble_body, build_client,
    certificates_from_pem, error_line, private_key_from_pem,
};
use tokio::io::AsyncWriteExt;

fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match Settings::from_args(args) {
        Ok(settings) => settings,
        Err(error) => return fail_before_start(&Failure::Usage(error)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("okcurl: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(runtime.block_on(run(settings)))
}

fn fail_before_start(failure: &Failure) -> ExitCode {
    eprintln!("{}", error_line(failure));
    ExitCode::from(failure.exit_code())
}

/// Reads a file named on the command line (`-` is standard input).
fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path)
}

/// Reads and parses the `--cacert`, `--cert` and `--key` files.
fn tls_material(settings: &Settings) -> Result<TlsMaterial, Failure> {
    let read = |flag: &str, path: &Path| {
        std::fs::read(path).map_err(|error| Failure::ReadFile {
            message: format!("{flag} {}: {error}", path.display()),
            certificate: true,
        })
    };
    let mut material = TlsMaterial::default();
    if let Some(path) = &settings.cacert {
        let what = format!("--cacert {}", path.display());
        material.roots = Some(certificates_from_pem(&read("--cacert", path)?, &what)?);
    }
    if let Some(cert) = &settings.cert {
        let what = format!("--cert {}", cert.display());
        let chain = certificates_from_pem(&read("--cert", cert)?, &what)?;
        let key_path = settings.key.as_ref().unwrap_or(cert);
        let what = format!("--key {}", key_path.display());
        let key = private_key_from_pem(&read("--key", key_path)?, &what)?;
        material.identity = Some((chain, key));
    }
    Ok(material)
}

async fn run(settings: Settings) -> u8 {
    let shows_errors = settings.shows_errors();
    let report_failure = |failure: &Failure| {
        if shows_errors {
            eprintln!("{}", error_line(failure));
        }
        failure.exit_code()
    };
    if settings.insecure {
        eprintln!(
            "okcurl: WARNING: --insecure: server certificates are NOT verified; anyone on the \
             network path can read and change this traffic"
        );
    }
    // Files are read before any request, in the runtime's blocking pool.
    let loaded = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || {
            let body = assemble_body(&settings.data, read_input)?;
            Ok::<_, Failure>((body, tls_material(&settings)?))
        })
        .await
    };
    let (body, material) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(failure)) => return report_failure(&failure),
        Err(error) => return report_failure(&Failure::Write(format!("reading files: {error}"))),
    };
    let sink: LineSink = Arc::new(|line: &str| {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    });
    let client = match build_client(&settings, material, sink.clone()).await {
        Ok(client) => client,
        Err(failure) => return report_failure(&failure),
    };
    let transfers = Transfers {
        client: &client,
        settings: &settings,
        body: body.map(Bytes::from),
        sink,
        progress: !settings.silent && std::io::stderr().is_terminal(),
    };
    let mut stdout = tokio::io::stdout();
    let mut exit = 0;
    for (uri, output) in settings.urls.iter().zip(&settings.outputs) {
        let (outcome, report) = transfers.run(uri, output, &mut stdout).await;
        if let Err(failure) = &outcome {
            let code = report_failure(failure);
            if exit == 0 {
                exit = code;
            }
        }
        if let Some(write_out) = &settings.write_out {
            let text = write_out.render(&report);
            if stdout.write_all(text.as_bytes()).await.is_err() && exit == 0 {
                exit = 23;
            }
        }
    }
    if stdout.flush().await.is_err() && exit == 0 {
        exit = 23;
    }
    exit
}
