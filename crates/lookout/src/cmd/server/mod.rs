//! `lookout server` (and `lookout` with no subcommand): load the config, open
//! storage, start scraping, serve every API on one port, reload on SIGHUP or
//! `/-/reload`, shut down cleanly on SIGINT/SIGTERM.

mod ast_json;
mod components;
mod engine;
pub mod flags;
mod ingest;
pub mod reload;
pub mod rules;
mod wiring;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use lookout_api::{Api, ApiSettings, Components, StatusInfo, WriteLimits};
use lookout_metrics::Registry;
use lookout_model::Labels;

pub use flags::ServerArgs;

use crate::config::{self, LoadedConfig};

/// External labels of a config as a label set.
pub fn external_labels(cfg: &LoadedConfig) -> Labels {
    Labels::from_pairs(
        cfg.prometheus
            .global
            .external_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// Where lookout scrapes itself: the listen address, with an unspecified
/// IP (`0.0.0.0`, `::`) replaced by loopback.
pub fn self_target(listen: &SocketAddr) -> String {
    let mut a = *listen;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    a.to_string()
}

fn load_initial(args: &ServerArgs, target: &str) -> Result<LoadedConfig, config::ConfigErrors> {
    match &args.config_file {
        Some(p) => config::load_file(p),
        None => config::load_str(
            &config::embedded_default(target),
            std::path::Path::new("<embedded>"),
        ),
    }
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lookout")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let listen: SocketAddr = args
        .listen_address
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "--web.listen-address: cannot resolve {:?}",
                args.listen_address
            )
        })?
        .next()
        .with_context(|| {
            format!(
                "--web.listen-address: no address for {:?}",
                args.listen_address
            )
        })?;
    let query_timeout = flags::duration_flag("query.timeout", &args.query_timeout)?;
    let lookback = flags::duration_flag("query.lookback-delta", &args.query_lookback_delta)?;
    let max_write_body = flags::parse_bytes(&args.remote_write_max_body)
        .context("--web.remote-write.max-body-size")?;
    let target = self_target(&listen);
    let cfg = match load_initial(&args, &target) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("error: refusing to start with an invalid configuration");
            return Ok(ExitCode::FAILURE);
        }
    };

    let registry = Arc::new(Registry::new());
    registry.collector(Arc::new(lookout_metrics::process::ProcessCollector));
    let wired = wiring::wire(&args, &cfg, &registry, &target)?;

    let reloader = Arc::new(reload::ConfigReloader::new(
        args.config_file.clone(),
        target.clone(),
        wired.apply.clone(),
        &registry,
    ));
    reloader.mark_loaded();
    let settings = ApiSettings {
        query_timeout,
        lookback_delta_ms: lookback.as_millis() as i64,
        max_write_body_bytes: usize::try_from(max_write_body).unwrap_or(usize::MAX),
        write_limits: WriteLimits::default(),
        enable_lifecycle: args.enable_lifecycle,
        build: lookout_api::default_build_info(),
    };
    let status = StatusInfo {
        config_yaml: cfg.prometheus_yaml.clone(),
        flags: args.as_map(),
        reload_success: true,
        last_config_time_ms: lookout_api::params::now_ms(),
        storage_retention: args.retention_time.clone(),
        external_labels: external_labels(&cfg),
    };
    let api = Api::new(
        Components {
            engine: wired.engine.clone(),
            querier: wired.querier.clone(),
            sink: wired.sink.clone(),
            targets: wired.targets.clone(),
            storage_stats: wired.storage_stats.clone(),
            reloader: Some(reloader.clone()),
        },
        settings,
        status,
        registry.clone(),
    );
    reloader.attach(&api);
    api.attach_rules(wired.rules.clone());
    let app = lookout_api::finish(lookout_api::routes(api.clone()).merge(wired.extra_routes));

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    api.set_ready(true);
    tracing::info!(address = %listen, data = %args.tsdb_path.display(), "lookout is ready");

    tokio::spawn(reload_on_sighup(reloader.clone()));
    let shutdown_api = api.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            wait_for_termination().await;
            tracing::info!("shutting down");
            shutdown_api.stopping.store(true, Ordering::Relaxed);
            shutdown_api.set_ready(false);
        })
        .await
        .context("serving HTTP")?;
    (wired.shutdown)().context("closing storage")?;
    tracing::info!("bye");
    Ok(ExitCode::SUCCESS)
}

async fn reload_on_sighup(reloader: Arc<reload::ConfigReloader>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload via /-/reload only");
        return;
    };
    while hup.recv().await.is_some() {
        let r = reloader.clone();
        // Errors are logged and counted by the reloader itself.
        let _ = tokio::task::spawn_blocking(move || lookout_api::Reloader::reload(&*r)).await;
    }
}

async fn wait_for_termination() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = async {
        match signal(SignalKind::terminate()) {
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
}
