//! `publish`'s I/O: send publications at their virtual times scaled by a speed, then make
//! sure the server has them all.

use crate::live::{
    chain, connect, payload_bytes, runtime, Barrier, ConnectionEvents, LiveError, Publication,
    ServerSpec, Speed, TENANT_HEADER,
};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub server: ServerSpec,
    pub speed: Speed,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What publishing did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishStats {
    pub messages: u64,
    pub bytes: u64,
    /// From the first publish to the server's acknowledgement of the last.
    pub elapsed: Duration,
    pub disconnects: u64,
}

/// Publishes `publications` in order, each with its tenant in the [`TENANT_HEADER`]
/// header, at `at / speed` after the start (`max`: no waiting), then makes a round trip
/// through the server: when this returns `Ok`, the server has handled every message.
pub fn publish(
    publications: &[Publication],
    plan: &PublishPlan,
) -> Result<PublishStats, LiveError> {
    runtime()?.block_on(publish_async(publications, plan))
}

async fn publish_async(
    publications: &[Publication],
    plan: &PublishPlan,
) -> Result<PublishStats, LiveError> {
    let server = plan.server.display_url();
    let events = Arc::new(ConnectionEvents::default());
    let client = connect(&plan.server, Arc::clone(&events)).await?;
    let mut barrier = Barrier::new(&client, &server).await?;
    let bar = plan.progress.then(|| {
        let bar = indicatif::ProgressBar::new(publications.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} messages, {per_sec} [{elapsed}<{eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let lost = |e: &dyn std::error::Error| LiveError::Lost {
        server: server.clone(),
        reason: chain(e),
    };
    let started = tokio::time::Instant::now();
    let mut bytes = 0u64;
    for (i, p) in publications.iter().enumerate() {
        if let Some(offset) = plan.speed.wall_offset(p.at.ms()) {
            tokio::time::sleep_until(started + offset).await;
        }
        let payload = payload_bytes(&p.payload);
        bytes += payload.len() as u64;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TENANT_HEADER, p.tenant.as_str());
        client
            .publish_with_headers(p.subject.as_str().to_string(), headers, payload.into())
            .await
            .map_err(|e| lost(&e))?;
        if let Some(bar) = &bar {
            // Redrawing is rate-limited by indicatif; counting is cheap.
            bar.set_position(i as u64 + 1);
        }
    }
    // The server has handled every message once a round trip after the last one is done.
    barrier.pass(&client, &server).await?;
    let elapsed = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(PublishStats {
        messages: publications.len() as u64,
        bytes,
        elapsed,
        disconnects: events.disconnects.load(Ordering::Relaxed),
    })
}
