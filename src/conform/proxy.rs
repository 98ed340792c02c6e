//! The fault proxy: one per client instance, a tokio TCP relay between the client and each
//! broker. Metadata and FindCoordinator responses are rewritten so that every broker address
//! the client learns is one of this proxy's listeners; the proxy then drops a request (request
//! lost), drops a response and resets the connection (ack lost: the broker did the work), adds
//! latency, or blackholes everything (a network partition) until healed. A crashed client's
//! proxy is killed: its connections are reset and nothing it still sends reaches a broker.

use super::wire::{self, ProduceBatch, api, rewrite_addresses};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What an armed fault does to the request it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lose {
    /// The request never reaches the broker.
    Request,
    /// The broker handles the request; its response is dropped and the connection reset.
    Response,
    /// The request reaches the broker, then the client crashes: the proxy is killed before
    /// any response comes back (a crash point just after a request was sent).
    CrashAfter,
}

/// A fault waiting for its request: the `nth` request (from 1) with one of `apis` after it was
/// armed.
struct Armed {
    apis: Vec<i16>,
    nth: u32,
    seen: u32,
    lose: Lose,
    fired: Arc<AtomicBool>,
}

/// What the proxy reads on the wire for the history (what librdkafka does not expose).
#[derive(Debug, Clone)]
pub enum Seen {
    /// An InitProducerId response.
    ProducerId { error: i16, producer_id: i64, epoch: i16 },
    /// A Produce request's record batch, and the error code its response gave the batch's
    /// partition (None: no response reached the client).
    Produce { batch: ProduceBatch, error: Option<i16> },
}

/// Who is told what the proxy reads.
pub type Observer = Arc<dyn Fn(Seen) + Send + Sync>;

/// A request on its way: api key, version, whether its response is dropped, and a Produce
/// request's batches.
struct Pending {
    api_key: i16,
    version: i16,
    drop_response: bool,
    batches: Vec<ProduceBatch>,
}

struct Shared {
    armed: Mutex<Vec<Armed>>,
    observer: Mutex<Option<Observer>>,
    blackholed: watch::Sender<bool>,
    killed: watch::Sender<bool>,
    latency_ms: AtomicU64,
    /// Upstream broker address -> this proxy's listener for it.
    listeners: Mutex<BTreeMap<SocketAddr, u16>>,
}

/// A client instance's proxy.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
    bootstrap: u16,
}

impl Proxy {
    /// Starts a proxy in front of `broker` (a loopback address) and returns it; clients
    /// bootstrap from `127.0.0.1:{port()}`.
    pub fn start(broker: SocketAddr) -> std::io::Result<Proxy> {
        let shared = Arc::new(Shared {
            armed: Mutex::new(Vec::new()),
            observer: Mutex::new(None),
            blackholed: watch::channel(false).0,
            killed: watch::channel(false).0,
            latency_ms: AtomicU64::new(0),
            listeners: Mutex::new(BTreeMap::new()),
        });
        let bootstrap = listen(&shared, broker)?;
        Ok(Proxy { shared, bootstrap })
    }

    /// The bootstrap listener's port.
    pub fn port(&self) -> u16 {
        self.bootstrap
    }

    /// Arms a fault for the `nth` request with one of `apis` from now on; the flag turns true
    /// when it fired.
    pub fn arm(&self, apis: &[i16], nth: u32, lose: Lose) -> Arc<AtomicBool> {
        let fired = Arc::new(AtomicBool::new(false));
        let armed = Armed { apis: apis.to_vec(), nth: nth.max(1), seen: 0, lose, fired: fired.clone() };
        self.shared.armed.lock().expect("proxy lock").push(armed);
        fired
    }

    /// Tells `observer` every producer id, epoch and Produce batch seen from now on.
    pub fn observe(&self, observer: Observer) {
        *self.shared.observer.lock().expect("proxy lock") = Some(observer);
    }

    /// Takes back an armed fault that has not fired (by the flag `arm` returned).
    pub fn disarm(&self, fired: &Arc<AtomicBool>) {
        self.shared.armed.lock().expect("proxy lock").retain(|a| !Arc::ptr_eq(&a.fired, fired));
    }

    /// Blackholes (true) or heals (false) every connection of this client.
    pub fn blackhole(&self, on: bool) {
        self.shared.blackholed.send_replace(on);
    }

    /// Adds `ms` of latency to every frame in each direction.
    pub fn set_latency(&self, ms: u64) {
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Resets every connection and refuses new ones: the client is gone.
    pub fn kill(&self) {
        self.shared.killed.send_replace(true);
    }
}

/// Binds a listener for `upstream` (once) and returns its port.
fn listen(shared: &Arc<Shared>, upstream: SocketAddr) -> std::io::Result<u16> {
    let mut listeners = shared.listeners.lock().expect("proxy lock");
    if let Some(port) = listeners.get(&upstream) {
        return Ok(*port);
    }
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let port = std_listener.local_addr()?.port();
    listeners.insert(upstream, port);
    let listener = TcpListener::from_std(std_listener)?;
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut killed = shared.killed.subscribe();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((client, _)) = accepted else { return };
                    if *shared.killed.borrow() {
                        reset(client);
                        continue;
                    }
                    tokio::spawn(relay(shared.clone(), client, upstream));
                }
                _ = killed.wait_for(|k| *k) => return,
            }
        }
    });
    Ok(port)
}

/// Closes a socket with an RST, as a connection a peer lost looks.
// (SO_LINGER 0 does not block on drop, the reason tokio deprecates set_linger: it resets.)
#[allow(deprecated)]
fn reset(s: TcpStream) {
    let _ = s.set_linger(Some(Duration::ZERO));
    drop(s);
}

async fn read_frame(s: &mut tokio::net::tcp::OwnedReadHalf) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let n = i32::from_be_bytes(len);
    if !(0..=256 << 20).contains(&n) {
        return None;
    }
    let mut frame = vec![0u8; n as usize];
    s.read_exact(&mut frame).await.ok()?;
    Some(frame)
}

async fn write_frame(s: &mut tokio::net::tcp::OwnedWriteHalf, frame: &[u8]) -> Option<()> {
    s.write_all(&(frame.len() as i32).to_be_bytes()).await.ok()?;
    s.write_all(frame).await.ok()
}

/// Relays one client connection to `upstream`, frame by frame, applying the faults.
async fn relay(shared: Arc<Shared>, client: TcpStream, upstream: SocketAddr) {
    let Ok(broker) = TcpStream::connect(upstream).await else {
        reset(client);
        return;
    };
    let _ = (client.set_nodelay(true), broker.set_nodelay(true));
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut broker_rx, mut broker_tx) = broker.into_split();
    // correlation id -> the request on its way.
    let pending: Arc<Mutex<BTreeMap<i32, Pending>>> = Arc::default();
    let reset_now = Arc::new(tokio::sync::Notify::new());
    let upward = {
        let (shared, pending) = (shared.clone(), pending.clone());
        async move {
            while let Some(frame) = read_frame(&mut client_rx).await {
                delay(&shared).await;
                if *shared.blackholed.borrow() {
                    continue;
                }
                let Some((api_key, version, correlation)) = wire::request_header(&frame) else { return };
                let batches = if api_key == api::PRODUCE {
                    wire::produce_request(version, &frame).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let lose = take_fault(&shared, api_key);
                if lose == Some(Lose::Request) {
                    tell_unanswered(&shared, batches);
                    continue;
                }
                let entry = Pending { api_key, version, drop_response: lose.is_some(), batches };
                pending.lock().expect("proxy lock").insert(correlation, entry);
                if write_frame(&mut broker_tx, &frame).await.is_none() {
                    return;
                }
                if lose == Some(Lose::CrashAfter) {
                    let _ = broker_tx.flush().await;
                    shared.killed.send_replace(true);
                    return;
                }
            }
        }
    };
    let downward = {
        let (shared, pending, reset_now) = (shared.clone(), pending.clone(), reset_now.clone());
        async move {
            while let Some(frame) = read_frame(&mut broker_rx).await {
                delay(&shared).await;
                if *shared.blackholed.borrow() {
                    continue;
                }
                let Some(correlation) = wire::response_correlation(&frame) else { return };
                let Some(request) = pending.lock().expect("proxy lock").remove(&correlation) else {
                    return;
                };
                if request.drop_response {
                    tell_unanswered(&shared, request.batches);
                    reset_now.notify_one();
                    return;
                }
                tell_answer(&shared, &request, &frame);
                let mut map = |host: &str, port: i32| remap(&shared, host, port);
                let out = rewrite_addresses(request.api_key, request.version, &frame, &mut map);
                if write_frame(&mut client_tx, out.as_deref().unwrap_or(&frame)).await.is_none() {
                    return;
                }
            }
        }
    };
    let mut killed = shared.killed.subscribe();
    tokio::select! {
        _ = upward => {}
        _ = downward => {}
        _ = reset_now.notified() => {}
        _ = killed.wait_for(|k| *k) => {}
    }
    // Dropping the halves closes both sockets; an ack lost or a kill resets the client's. The
    // batches still on their way never get an answer to this client.
    for (_, request) in std::mem::take(&mut *pending.lock().expect("proxy lock")) {
        tell_unanswered(&shared, request.batches);
    }
}

fn tell(shared: &Shared, seen: Seen) {
    let observer = shared.observer.lock().expect("proxy lock").clone();
    if let Some(o) = observer {
        o(seen);
    }
}

fn tell_unanswered(shared: &Shared, batches: Vec<ProduceBatch>) {
    for batch in batches {
        tell(shared, Seen::Produce { batch, error: None });
    }
}

/// What a response says that the history keeps: a Produce response's error per batch, an
/// InitProducerId's producer id and epoch.
fn tell_answer(shared: &Shared, request: &Pending, frame: &[u8]) {
    match request.api_key {
        api::PRODUCE => {
            let errors = wire::produce_response(request.version, frame).unwrap_or_default();
            for batch in request.batches.iter().cloned() {
                // (A response scn cannot read counts as an unknown server error, -1.)
                let error = errors
                    .iter()
                    .find(|(t, p, _)| *t == batch.topic && *p == batch.partition)
                    .map_or(-1, |(_, _, e)| *e);
                tell(shared, Seen::Produce { batch, error: Some(error) });
            }
        }
        api::INIT_PRODUCER_ID => {
            if let Some((error, producer_id, epoch)) = wire::init_producer_id_response(request.version, frame) {
                tell(shared, Seen::ProducerId { error, producer_id, epoch });
            }
        }
        _ => {}
    }
}

/// The proxy's listener for the broker a response names (loopback brokers only: any other
/// address is left as it is, and the client's connection to it bypasses no fault because
/// `conform` refuses non-loopback targets before it starts).
fn remap(shared: &Arc<Shared>, host: &str, port: i32) -> (String, i32) {
    use std::net::ToSocketAddrs;
    let addr = (host, port as u16).to_socket_addrs().ok().and_then(|mut a| a.find(|a| a.ip().is_loopback()));
    match addr.map(|a| listen(shared, a)) {
        Some(Ok(local)) => ("127.0.0.1".into(), i32::from(local)),
        _ => (host.to_string(), port),
    }
}

async fn delay(shared: &Shared) {
    let ms = shared.latency_ms.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// The armed fault this request fires, if any (each fires once).
fn take_fault(shared: &Shared, api_key: i16) -> Option<Lose> {
    let mut armed = shared.armed.lock().expect("proxy lock");
    let mut hit = None;
    let mut done = BTreeSet::new();
    for (i, a) in armed.iter_mut().enumerate() {
        if !a.apis.contains(&api_key) {
            continue;
        }
        a.seen += 1;
        if a.seen == a.nth && hit.is_none() {
            hit = Some(a.lose);
            a.fired.store(true, Ordering::SeqCst);
            done.insert(i);
        }
    }
    let mut i = 0;
    armed.retain(|_| {
        i += 1;
        !done.contains(&(i - 1))
    });
    hit
}
