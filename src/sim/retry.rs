//! Requests sent again: a client's coordinator request (or its answer) lost on a cut link or
//! waiting unread at a frozen broker, after the client's request timeout and then each time a
//! new connection gives up; a lost WriteTxnMarkers after the coordinator's request timeout.

use super::Sim;
use super::event::{Event, GroupRequest};

/// An inter-broker request's timeout (the broker's `request.timeout.ms`, 30000).
const BROKER_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// `socket.connection.setup.timeout.ms` (10000): how long a new connection over a cut link
/// tries before giving up.
const CONNECTION_SETUP_TIMEOUT_MS: u64 = 10_000;

impl Sim<'_> {
    /// A message lost on a cut link. A client's coordinator request (or its answer) is sent
    /// again when the client's request times out, and then, while the link stays cut, each time
    /// a new connection gives up (socket.connection.setup.timeout.ms, 10 s), to wherever the
    /// coordinator is then; a WriteTxnMarkers (or its answer) times out at the coordinator,
    /// which sends the marker again to whoever leads the partition then. Other messages are
    /// simply lost (their senders time out on their own).
    pub(super) fn lost_on_cut(&mut self, event: Event) {
        match event {
            Event::MarkerArrive { txn, partition, .. } | Event::MarkerResponse { txn, partition, .. } => {
                self.retry_marker(txn, partition, BROKER_REQUEST_TIMEOUT_MS);
            }
            e if e.is_retried_client_request() => {
                let at = self.clock + self.client_request_timeout(&e);
                self.schedule_resend(at, e, true, false);
            }
            _ => {}
        }
    }

    /// A message a `request lost` / `ack lost` fault took: as one lost on a cut link, except
    /// that the link works, so the retry is never futile.
    pub(super) fn lost_once(&mut self, event: Event) {
        match event {
            Event::MarkerArrive { txn, partition, .. } | Event::MarkerResponse { txn, partition, .. } => {
                let failed = Event::MarkerResponse { txn, partition, ok: false, from: None };
                self.queue.push(self.clock + BROKER_REQUEST_TIMEOUT_MS, failed, false);
            }
            e if e.is_retried_client_request() => {
                let at = self.clock + self.client_request_timeout(&e);
                self.schedule_resend(at, e, false, false);
            }
            // A lost fetch (or its answer) is sent again at the consumer's fetch timeout; a
            // lost auto-commit is gone.
            _ => {}
        }
    }

    /// `request.timeout.ms` of the client that sent (or awaits) a coordinator request.
    pub(super) fn client_request_timeout(&self, e: &Event) -> u64 {
        match *e {
            Event::TxnArrive { producer, .. } | Event::TxnResponse { producer, .. } => {
                self.model.producers[producer as usize].request_timeout_ms
            }
            _ => super::consumer::REQUEST_TIMEOUT_MS,
        }
    }

    /// A client's coordinator request reached a frozen broker: it waits there unread; the
    /// client's request timeout will close the connection and send it again.
    pub(super) fn request_waits_at_frozen_broker(&mut self, event: &Event) {
        if let Event::MarkerArrive { txn, partition, .. } = *event {
            // The coordinator's WriteTxnMarkers times out (30 s) and goes to whoever leads then
            // (if the frozen broker wakes first and writes it, the retry finds nothing to do).
            self.retry_marker(txn, partition, BROKER_REQUEST_TIMEOUT_MS);
            return;
        }
        if matches!(event, Event::GroupArrive { .. } | Event::TxnArrive { .. }) && event.is_retried_client_request() {
            let at = self.clock + self.client_request_timeout(event);
            self.schedule_resend(at, event.clone(), false, true);
        }
    }

    /// Schedules `event` to be sent again at `at` (see [`Event::Resend`]); a JoinGroup's
    /// consumer remembers that one is on its way.
    pub(super) fn schedule_resend(&mut self, at: u64, event: Event, after_cut: bool, reclaim: bool) {
        if let Event::GroupArrive { consumer, inc, request: GroupRequest::Join { .. } } = event {
            let s = &mut self.world.consumers[consumer as usize];
            if s.incarnation == inc {
                s.join_retrying = true;
            }
        }
        let futile = after_cut && !self.faults_pending();
        self.queue.push(at, Event::Resend { event: Box::new(event), after_cut, futile, reclaim }, false);
    }

    /// A request sent again (see [`Event::Resend`]): only by a client instance that still
    /// lives; through the network as any message, to the coordinator of now.
    pub(super) fn resend(&mut self, event: Event, after_cut: bool, reclaim: bool) {
        if reclaim {
            let Some(i) = self.world.deferred_at_broker.iter().position(|(_, e)| *e == event) else {
                // The broker woke and read it meanwhile: its answer is on the way.
                return;
            };
            self.world.deferred_at_broker.remove(i);
        }
        let alive = match event {
            Event::GroupArrive { consumer, inc, .. } => self.consumer_live(consumer, inc),
            Event::TxnArrive { producer, inc, .. } => self.producer_live(producer, inc),
            _ => true,
        };
        if !alive {
            return;
        }
        if after_cut && self.event_is_cut(&event) {
            // Still cut: the new connection gives up, and the client tries again.
            self.schedule_resend(self.clock + CONNECTION_SETUP_TIMEOUT_MS, event, true, false);
            return;
        }
        self.send(event);
    }
}
