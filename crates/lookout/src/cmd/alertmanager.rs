//! `lookout alertmanager ...`: a standalone Alertmanager-compatible server
//! (until the full server embeds the same component) and the amtool-like
//! tools `check`, `routes test` and `template render`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lookout_alertmanager::check::check_config_file;
use lookout_alertmanager::config::load_file;
use lookout_alertmanager::matchers::{parse_matchers, MatchType, ParseMode};
use lookout_alertmanager::route::Route;
use lookout_alertmanager::{Alertmanager, Options};

/// Matcher grammar selection (Alertmanager's feature flags).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum MatcherMode {
    /// UTF-8 grammar, falling back to the classic one (Alertmanager ≥ 0.27 default).
    #[default]
    Fallback,
    /// Classic grammar only (Alertmanager ≤ 0.26).
    Classic,
    /// UTF-8 grammar only.
    Utf8Strict,
}

impl From<MatcherMode> for ParseMode {
    fn from(m: MatcherMode) -> Self {
        match m {
            MatcherMode::Fallback => ParseMode::Fallback,
            MatcherMode::Classic => ParseMode::Classic,
            MatcherMode::Utf8Strict => ParseMode::Utf8Strict,
        }
    }
}

/// `lookout alertmanager` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AlertmanagerCommand {
    /// Run the Alertmanager API v2 and notification pipeline on one port.
    Serve(ServeArgs),
    /// Validate alertmanager.yml files (like `amtool check-config`).
    Check {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Matcher grammar.
        #[arg(long = "matchers.mode", value_enum, default_value_t)]
        mode: MatcherMode,
    },
    /// Routing-tree tools.
    #[command(subcommand)]
    Routes(RoutesCommand),
    /// Template tools.
    #[command(subcommand)]
    Template(TemplateCommand),
}

/// `routes` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RoutesCommand {
    /// Print the receivers a label set reaches (like `amtool config routes test`).
    Test {
        /// The config file.
        #[arg(long = "config.file")]
        config: PathBuf,
        /// Expected receivers, comma separated; exit 1 when they differ.
        #[arg(long = "verify.receivers")]
        verify: Option<String>,
        /// Matcher grammar.
        #[arg(long = "matchers.mode", value_enum, default_value_t)]
        mode: MatcherMode,
        /// Labels as `name=value` (the first argument without `=` is the alertname).
        labels: Vec<String>,
    },
}

/// `template` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TemplateCommand {
    /// Render a template against sample (or given) notification data.
    Render {
        /// Template text to render.
        #[arg(long = "template.text")]
        text: String,
        /// Template files to load (globs).
        #[arg(long = "template.glob")]
        globs: Vec<String>,
        /// Notification data as webhook-payload JSON; sample data when absent.
        #[arg(long = "template.data")]
        data: Option<PathBuf>,
    },
}

/// `serve` flags, named like Alertmanager's.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// alertmanager.yml.
    #[arg(long = "config", alias = "config.file")]
    config: PathBuf,
    /// Listen address.
    #[arg(
        long = "listen",
        alias = "web.listen-address",
        default_value = "127.0.0.1:9093"
    )]
    listen: SocketAddr,
    /// Directory for the notification log, silences and Pushover receipts.
    #[arg(long = "storage.path", default_value = "data")]
    storage: PathBuf,
    /// URL under which the server is reachable (links in notifications).
    #[arg(long = "web.external-url")]
    external_url: Option<String>,
    /// How long silences and notification-log entries are kept.
    #[arg(long = "data.retention", default_value = "120h")]
    retention: String,
    /// Interval between garbage collections and snapshots.
    #[arg(long = "data.maintenance-interval", default_value = "15m")]
    maintenance: String,
    /// Interval between garbage collections of resolved alerts.
    #[arg(long = "alerts.gc-interval", default_value = "30m")]
    gc: String,
    /// Matcher grammar.
    #[arg(long = "matchers.mode", value_enum, default_value_t)]
    mode: MatcherMode,
    /// Pushover messages endpoint for integrations without `api_url`
    /// (self-hosted relays, tests).
    #[arg(long = "pushover.api-url")]
    pushover_api_url: Option<String>,
}

fn duration_flag(s: &str) -> anyhow::Result<Duration> {
    let ms = lookout_model::parse_duration(s).with_context(|| format!("bad duration {s:?}"))?;
    Ok(Duration::from_millis(ms.max(0) as u64))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Runs a subcommand.
pub fn run(cmd: AlertmanagerCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AlertmanagerCommand::Serve(args) => serve(args),
        AlertmanagerCommand::Check { files, mode } => {
            let mut failed = 0;
            for f in &files {
                let r = check_config_file(f, mode.into());
                print!("{}", r.text);
                println!();
                if !r.ok {
                    failed += 1;
                }
            }
            if failed > 0 {
                eprintln!("lookout: error: failed to validate {failed} file(s)");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertmanagerCommand::Routes(RoutesCommand::Test {
            config,
            verify,
            mode,
            labels,
        }) => routes_test(&config, verify.as_deref(), mode.into(), &labels),
        AlertmanagerCommand::Template(TemplateCommand::Render { text, globs, data }) => {
            let out = lookout_alertmanager::templates::render_cli(&text, &globs, data.as_deref())
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn routes_test(
    config: &std::path::Path,
    verify: Option<&str>,
    mode: ParseMode,
    args: &[String],
) -> anyhow::Result<ExitCode> {
    let cfg = load_file(config, mode).map_err(|e| anyhow::anyhow!("{e}"))?;
    let root = Route::build(cfg.route(), mode).map_err(|e| anyhow::anyhow!(e))?;
    let mut args = args.to_vec();
    // Like amtool: a first argument without an operator is the alertname.
    if let Some(first) = args.first_mut() {
        if !first.contains('=') && !first.contains('~') {
            *first = format!("alertname={first}");
        }
    }
    let ms = parse_matchers(&args.join(","), mode).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut labels = lookout_alertmanager::labels::LabelSet::new();
    for m in ms {
        if m.ty != MatchType::Equal {
            anyhow::bail!("labels must be name=value pairs, got {m}");
        }
        labels.insert(m.name, m.value);
    }
    let receivers: Vec<String> = root
        .matches(&labels)
        .iter()
        .map(|r| r.opts.receiver.clone())
        .collect();
    let got = receivers.join(",");
    println!("{got}");
    if let Some(want) = verify {
        if want != got {
            println!("WARNING: Expected receivers did not match resolved receivers.");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mode: ParseMode = args.mode.into();
    let cfg = load_file(&args.config, mode).map_err(|e| anyhow::anyhow!("{e}"))?;
    let external_url = args
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", hostname(), args.listen.port()));
    let opts = Options {
        storage_path: Some(args.storage.clone()),
        external_url: external_url.trim_end_matches('/').to_string(),
        retention: duration_flag(&args.retention)?,
        maintenance_interval: duration_flag(&args.maintenance)?,
        alerts_gc_interval: duration_flag(&args.gc)?,
        mode,
        pushover_api_url: args.pushover_api_url.clone(),
        ..Options::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let am = Alertmanager::new(opts, cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
        am.set_config_path(args.config.clone());
        let app = lookout_alertmanager::api::standalone_router(am.clone());
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        tracing::info!(address = %args.listen, "lookout alertmanager listening");
        spawn_sighup(am.clone());
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")?;
        am.shutdown();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn spawn_sighup(am: Arc<Alertmanager>) {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match am.reload().await {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(e) => tracing::error!(error = %e, "reload failed; keeping the running config"),
            }
        }
    });
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
