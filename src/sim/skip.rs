//! Exact idle skipping: a run in which nothing happens but polling (followers and consumers
//! fetching nothing, held fetches timing out, their timers re-armed) repeats itself every few
//! hundred milliseconds until the next real event. Once it has repeated twice in the same way,
//! the run jumps over the whole periods that fit before that event, and lands in exactly the
//! state (world, pending events, event count) that stepping through them gives.
//!
//! The proof is read off the run itself, not assumed: at each millisecond boundary whose next
//! event is idle the run takes a mark — a hash of everything but the counters idle polling
//! advances (fetch-wait tokens, link arrival times, follower catch-up times, fetch counts, the
//! pending events' times) and those counters. Three marks with the same hash, `H` ms apart, whose
//! counters moved by the same amounts from the first to the second and the second to the third,
//! show a period; nothing else changed. The jump stops short of every pending event that did not
//! move with the period (a timer, a send, a fault) and of every deadline idle polling reads
//! (auto-commit, metadata.max.age.ms, the `run for` limit), so each skipped event would have met
//! the same state, shifted. After the idle event a jump stopped short of (an ISR check that
//! changed nothing, a stale timeout), one mark that finds the run back where the jump landed,
//! moved on by whole periods, lets it jump again (`resume`). The skipped events count as
//! handled, so reports and exploration are byte-identical with and without it
//! (`SCN_NO_IDLE_SKIP=1` turns it off; `tests/cli.rs` compares).

use super::Sim;
use super::event::Event;
use super::world::{HeldFetch, World};
use std::hash::{Hash, Hasher};

/// Marks kept while looking for a period.
const MARKS: usize = 6;
/// Marks taken since the last active event before the search gives up until the next one.
const PATIENCE: u32 = 4;
/// The fewest periods worth a jump. Once three marks have shown a period, a jump costs less
/// than stepping through one period: a jump only when 12 fit (as until 2026-12-04) left the
/// run stepping through up to 12 periods before each event that breaks the period (the ISR
/// check every 15 s, a request timeout), a third of an explored run's events.
const MIN_PERIODS: u64 = 1;
/// Marks in vain after which a run stops looking for periods.
const WASTED: u32 = 12;
/// Millisecond boundaries looked at for an event that comes back before the search gives up.
const HEADS: usize = 32;
/// Runs with more messages than this do not look for periods (a run that large spends its
/// time on data, not on idle polling, and hashing its world at a mark costs).
const MAX_MESSAGES: u32 = 20_000;

/// Whether a run of `model` may skip idle periods: not with `SCN_NO_IDLE_SKIP` set, nor with
/// network jitter (which draws from the RNG at every hop), nor for a run of many messages.
pub(super) fn worth_it(model: &crate::model::Model) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SCN_NO_IDLE_SKIP").is_none())
        && model.network.jitter_ms == 0
        && model.total_messages <= MAX_MESSAGES
}

/// The search for a period: the marks taken since the last active event.
#[derive(Debug, Default)]
pub(super) struct Skipper {
    /// Off for this run (set at its start, see [`worth_it`], or once it wasted marks).
    pub(super) off: bool,
    /// Marks taken since the last jump (or the run's start): a run whose idle stretches are
    /// too short to jump stops looking once it has spent [`WASTED`] marks in vain.
    wasted: u32,
    /// The next events (masked, hashed) seen at millisecond boundaries so far.
    heads: Vec<u64>,
    /// The first of them to come back: marks are taken only before it, once a period.
    anchor: Option<u64>,
    marks: Vec<Mark>,
    taken: u32,
    gave_up: bool,
    /// No marks before this time: the event a jump stopped short of (or that left no room
    /// for one) must come first.
    resume_at: u64,
    /// Where the last jump landed, and the period it jumped by: a run that an idle event
    /// interrupted (the one the jump stopped short of) and that is back in that period needs
    /// one mark to jump again, not three.
    last: Option<Landing>,
    /// Jumps made from one mark after such an interruption.
    resumed: u32,
    /// Resumptions found in vain (the world changed) since the last that worked: a run whose
    /// interruptions change its world stops trying after [`VAIN_RESUMES`].
    vain_resumes: u32,
}

/// Resumptions in vain in a row after which a run stops trying them.
const VAIN_RESUMES: u32 = 2;

/// Where a jump landed: its last mark moved on by the periods jumped, with the period's moves.
#[derive(Debug, Clone)]
struct Landing {
    at: Mark,
    /// Each counter's move over one period (see [`Mark::counters`]).
    delta: Vec<i128>,
    /// Whether each of `at`'s pending events moves with the period.
    moved: Vec<bool>,
    period: u64,
    /// Events handled a period.
    events: u64,
}

/// What a jump found.
enum Jump {
    /// It jumped; the next search waits until the clock reaches this.
    Done(u64),
    /// A period, but no whole one fits before this.
    NoRoom(u64),
    /// Not a period.
    NoPeriod,
}

#[derive(Debug, Clone)]
struct Mark {
    /// The time of the last event handled, of the next, and the events handled so far.
    clock: u64,
    next: u64,
    events: u64,
    /// The pending events and the run's bookkeeping, counters left out.
    shape: u64,
    /// The run's bookkeeping alone, and each pending event's idleness, masked hash and
    /// whether it carries a counter.
    book: u64,
    pending: Vec<(bool, u64, bool)>,
    /// The world, counters left out (hashed only where needed).
    state: Option<u64>,
    /// The counters: the world's, then each pending event's time and counter.
    counters: Vec<u64>,
    /// How many of them are the world's.
    world: usize,
}

/// A forked run starts its own search: explore forks a run many times at each choice point
/// and injects a fault in each fork, which no mark taken before could match anyway. (Where a
/// run jumps never changes what it computes, only how fast.)
impl Clone for Skipper {
    fn clone(&self) -> Skipper {
        Skipper { wasted: self.wasted, vain_resumes: self.vain_resumes, ..Skipper::new(self.off) }
    }
}

impl Skipper {
    /// A search for a run that starts now (`off` for one that must not skip).
    pub(super) fn new(off: bool) -> Skipper {
        Skipper { off, ..Skipper::default() }
    }

    /// Forgets the marks (a fork that injects a fault starts with none: see `Sim::add_fault`).
    pub(super) fn reset(&mut self) {
        *self = Skipper { wasted: self.wasted, vain_resumes: self.vain_resumes, ..Skipper::new(self.off) };
    }
}

impl Sim<'_> {
    /// Before the next event, at `next`: jumps over whole periods of idle polling if the run
    /// has shown one. Returns whether it jumped (no event was handled).
    pub(super) fn skip_idle(&mut self, next: u64) -> bool {
        if self.skipper.off {
            return false;
        }
        if self.queue.head_idle() != Some(true) {
            if self.skipper.anchor.is_some() || !self.skipper.heads.is_empty() || self.skipper.gave_up {
                self.skipper.reset();
            }
            return false;
        }
        // (Marks only between milliseconds: the jump must not split the events of one.)
        if self.skipper.gave_up || next == self.clock || self.clock < self.skipper.resume_at {
            return false;
        }
        // (With how long the run waits for it: the same kind of event often comes several
        // times a period, after different waits.)
        let head = self.queue.head_event().map(masked_hash).unwrap_or(0)
            ^ (next - self.clock).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let sk = &mut self.skipper;
        match sk.anchor {
            None if sk.heads.contains(&head) => sk.anchor = Some(head),
            None => {
                sk.heads.push(head);
                sk.gave_up = sk.heads.len() > HEADS;
                return false;
            }
            Some(a) if a != head => return false,
            Some(_) => {}
        }
        sk.taken += 1;
        sk.wasted += 1;
        if sk.wasted > WASTED {
            sk.off = true;
            return false;
        }
        if sk.taken > PATIENCE || self.fetch_faults_pending() {
            self.skipper.gave_up = true;
            self.skipper.marks.clear();
            return false;
        }
        let mut mark = self.mark(next);
        if let Some(Jump::Done(bound)) = self.resume(&mark) {
            self.skipper.resumed += 1;
            self.skipper.vain_resumes = 0;
            self.skipper.marks.clear();
            self.skipper.wasted = 0;
            self.skipper.taken = 0;
            self.skipper.resume_at = bound;
            return true;
        }
        let same = |m: &Mark| m.shape == mark.shape && m.next < mark.next;
        if let Some(b) = self.skipper.marks.iter().rposition(same) {
            // (The world is hashed only at a mark that may be the second or third of a
            // period: most marks match nothing.)
            mark.state = Some(self.state_hash());
            let marks = &self.skipper.marks;
            let period = mark.next - marks[b].next;
            if marks[b].state == mark.state {
                // (A counter a period sets from the clock, not adds to, moves by the period
                // only once its old value is gone: two equal steps show it, one does not.)
                if let Some(a) = marks.iter().rposition(|a| same(a) && a.next + period == marks[b].next) {
                    let marks = std::mem::take(&mut self.skipper.marks);
                    match self.jump(&marks[a], &marks[b], &mark) {
                        Jump::Done(bound) => {
                            self.skipper.wasted = 0;
                            // (The anchor still comes once a period: the next search starts
                            // from it, once the event the jump stopped short of happened.)
                            self.skipper.taken = 0;
                            self.skipper.resume_at = bound;
                            return true;
                        }
                        Jump::NoRoom(bound) => {
                            self.skipper.taken = 0;
                            self.skipper.resume_at = bound;
                            return false;
                        }
                        Jump::NoPeriod => self.skipper.marks = marks,
                    }
                }
            } else if marks[b].state.is_none() && marks[b].counters.len() == mark.counters.len() {
                // Two marks a period apart: is there room for the third and a jump worth it after it?
                let delta = deltas(&marks[b], &mark);
                let bound = self.moving(&delta, mark.world, period, marks[b].clock).map(|(_, bound)| bound);
                if let Some(bound) = bound.filter(|t| t.saturating_sub(mark.clock + 1) / period < MIN_PERIODS + 1) {
                    self.skipper.marks.clear();
                    self.skipper.taken = 0;
                    self.skipper.resume_at = bound;
                    return false;
                }
            }
        }
        let marks = &mut self.skipper.marks;
        if marks.len() == MARKS {
            marks.remove(0);
        }
        marks.push(mark);
        false
    }

    /// A fault that counts fetches (`request lost for C fetch N`) still to fire: idle fetches
    /// count towards it, so none is skipped.
    fn fetch_faults_pending(&self) -> bool {
        self.faults.iter().enumerate().any(|(i, f)| {
            matches!(f.trigger, crate::model::Trigger::Message { request: crate::ast::LostRequest::Fetch, .. })
                && !self.fired(i)
        })
    }

    /// A mark of the run now: the counters, and a hash of the pending events (their counters
    /// and times left out) and of what idle polling must leave alone.
    fn mark(&mut self, next: u64) -> Mark {
        let mut counters = Vec::with_capacity(256);
        world_counters(&mut self.world, &mut |v| counters.push(*v));
        let world = counters.len();
        let queued = self.queue.pending_keyed();
        let mut pending = Vec::with_capacity(queued.len());
        for (time, _, idle, event) in queued {
            counters.push(time);
            let counter = event_counter(event);
            pending.push((idle, masked_hash(event), counter.is_some()));
            counters.extend(counter);
        }
        let mut b = rustc_hash::FxHasher::default();
        for f in &self.world.fired {
            f.len().hash(&mut b);
        }
        self.world.membership.len().hash(&mut b);
        (self.rng.get_word_pos(), self.trace.total, self.last_active, self.faults.len(), self.idle).hash(&mut b);
        (self.past.no_fault_pending, self.past.recoveries.len()).hash(&mut b);
        if let Some(r) = &self.recorder {
            (r.choices.len(), r.seen.len(), r.digest).hash(&mut b);
        }
        let book = b.finish();
        let mut h = rustc_hash::FxHasher::default();
        (&pending, book).hash(&mut h);
        Mark {
            clock: self.clock,
            next,
            events: self.events,
            shape: h.finish(),
            book,
            pending,
            state: None,
            counters,
            world,
        }
    }

    /// A hash of the world with its counters zeroed (and put back).
    fn state_hash(&mut self) -> u64 {
        let mut counters = Vec::with_capacity(128);
        world_counters(&mut self.world, &mut |v| {
            counters.push(*v);
            *v = 0;
        });
        let mut h = rustc_hash::FxHasher::default();
        self.world.hash_without_fired(&mut h);
        let mut it = counters.iter();
        world_counters(&mut self.world, &mut |v| *v = *it.next().expect("as many counters"));
        h.finish()
    }

    /// Jumps from mark `c` (the run now) over as many periods as fit, if `a`, `b`, `c` show
    /// one: everything but the counters equal, the counters moving by the same amounts from
    /// `a` to `b` as from `b` to `c`, each pending event either moving by the period or not at
    /// all.
    fn jump(&mut self, a: &Mark, b: &Mark, c: &Mark) -> Jump {
        let period = c.next - b.next;
        let n = c.counters.len();
        if a.counters.len() != n || b.counters.len() != n || c.events - b.events != b.events - a.events {
            return Jump::NoPeriod;
        }
        let delta = deltas(b, c);
        if deltas(a, b) != delta {
            return Jump::NoPeriod;
        }
        self.leap(c, delta, period, c.events - b.events, a.clock)
    }

    /// Jumps from mark `c` (the run now) over as many periods of `period` as fit, given how
    /// each counter moves over one (`delta`) and the events a period handles, once marks since
    /// `since` have shown the period.
    fn leap(&mut self, c: &Mark, delta: Vec<i128>, period: u64, per_period: u64, since: u64) -> Jump {
        let Some((slots, bound)) = self.moving(&delta, c.world, period, since) else { return Jump::NoPeriod };
        // Whole periods whose events all come before the bound: the last one handled is at
        // `c.clock + k * period`.
        let k = bound.checked_sub(c.clock + 1).map_or(0, |room| room / period);
        let skipped = k * per_period;
        // (The memory check the skipped events would have made.)
        let crossed = self.events / 65_536 != (self.events + skipped) / 65_536;
        if k < MIN_PERIODS || self.events + skipped >= super::MAX_EVENTS || (crossed && crate::memory::exceeded()) {
            return Jump::NoRoom(bound);
        }
        let step = |v: u64, d: i128| (i128::from(v) + d * i128::from(k)) as u64;
        let mut w = 0;
        world_counters(&mut self.world, &mut |v| {
            *v = step(*v, delta[w]);
            w += 1;
        });
        let clock = c.clock + k * period;
        self.queue.shift(clock, k * period, |idx, event| {
            let (moved, counter) = slots[idx];
            if moved {
                if let Some(v) = event_counter(event) {
                    set_event_counter(event, step(v, delta[counter]));
                }
            }
            moved
        });
        self.events += skipped;
        self.clock = clock;
        if let Some(r) = &mut self.recorder {
            r.mark = (clock, None);
        }
        let mut at = c.clone();
        at.counters.iter_mut().zip(&delta).for_each(|(v, d)| *v = step(*v, *d));
        at.clock = clock;
        at.next = c.next + k * period;
        at.events = self.events;
        let moved = slots.iter().map(|s| s.0).collect();
        self.skipper.last = Some(Landing { at, delta, moved, period, events: per_period });
        Jump::Done(bound)
    }

    /// At mark `m`, whether the run is back in the period its last jump went by, after the
    /// idle events that jump stopped short of: the world (its counters moved on by whole
    /// periods), the run's bookkeeping and the pending events that moved with the period
    /// (moved on the same way, in the same order) as where the jump landed, and the other
    /// pending events the same ones, at any times, less idle ones that came due. Then nothing
    /// the period's events read
    /// differs from the landing, shifted, so the period holds as it did, and the run jumps
    /// again from `m` (no further than a deadline idle polling reads after the landing).
    fn resume(&mut self, m: &Mark) -> Option<Jump> {
        if self.skipper.vain_resumes >= VAIN_RESUMES {
            return None;
        }
        let l = self.skipper.last.as_ref()?;
        let (at, period) = (&l.at, l.period);
        let gap = m.next.checked_sub(at.next).filter(|d| *d > 0 && d % period == 0)?;
        let j = i128::from(gap / period);
        if m.world != at.world || m.book != at.book || at.state.is_none() {
            return None;
        }
        let shifted = |v: u64, d: i128| i128::from(v) + d * j;
        if (0..at.world).any(|i| i128::from(m.counters[i]) != shifted(at.counters[i], l.delta[i])) {
            return None;
        }
        // Each pending event with where its time (and counter) sit in `counters`.
        let layout = |mark: &Mark| {
            let mut i = mark.world;
            mark.pending
                .iter()
                .map(|&(idle, hash, counted)| {
                    let at = i;
                    i += 1 + usize::from(counted);
                    (idle, hash, counted, at)
                })
                .collect::<Vec<(bool, u64, bool, usize)>>()
        };
        let (landed, now) = (layout(at), layout(m));
        let moving: Vec<_> = landed.iter().zip(&l.moved).filter(|(_, moved)| **moved).map(|(e, _)| *e).collect();
        let mut others: Vec<_> =
            landed.iter().zip(&l.moved).filter(|(_, moved)| !**moved).map(|(e, _)| (e.0, e.1, e.2)).collect();
        let mut delta = l.delta[..at.world].to_vec();
        let (mut matched, mut rest) = (0, Vec::new());
        for &(idle, hash, counted, i) in &now {
            let same = |&&(idle2, hash2, counted2, k): &&(bool, u64, bool, usize)| {
                (idle2, hash2, counted2) == (idle, hash, counted)
                    && (0..1 + usize::from(counted))
                        .all(|o| i128::from(m.counters[i + o]) == shifted(at.counters[k + o], l.delta[k + o]))
            };
            match moving.get(matched).filter(same) {
                Some(&(_, _, _, k)) => {
                    delta.extend_from_slice(&l.delta[k..k + 1 + usize::from(counted)]);
                    matched += 1;
                }
                None => {
                    rest.push((idle, hash, counted));
                    delta.extend(std::iter::repeat_n(0, 1 + usize::from(counted)));
                }
            }
        }
        // (The other events are bounds, so none comes due within a jump; one that came due
        // since the landing may be gone if it was idle: the count of active events, which
        // decides when a run is over, is the same.)
        others.sort_unstable();
        rest.sort_unstable();
        if matched != moving.len() || !idle_gone_only(&others, &rest) {
            return None;
        }
        let (events, since, state) = (l.events, at.clock, at.state);
        if Some(self.state_hash()) != state {
            // (The world changed since the landing, and seldom changes back: later marks look
            // for a period afresh rather than hash the world again for nothing.)
            self.skipper.last = None;
            self.skipper.vain_resumes += 1;
            return None;
        }
        // (The world is as it was at the landing: the next landing's state is its state.)
        let m = Mark { state, ..m.clone() };
        Some(self.leap(&m, delta, period, events, since))
    }

    /// Each pending event, given the counters' moves over one `period` (`delta`, the world's
    /// first `world` of them): whether it moved with the period, and where its counter is;
    /// and the earliest time something does not repeat with the period (a pending event that
    /// did not move, a deadline idle polling reads after `since`, the end of the run). None
    /// when an event did neither.
    fn moving(&self, delta: &[i128], world: usize, period: u64, since: u64) -> Option<(Vec<(bool, usize)>, u64)> {
        let mut slots = Vec::new();
        let mut bound = self.model.run_for_ms.saturating_add(1).min(self.idle_deadline(since));
        let mut i = world;
        for (time, _, _, event) in self.queue.pending_keyed() {
            let counted = event_counter(event).is_some();
            let (dt, dc) = (delta[i], if counted { delta[i + 1] } else { 0 });
            if dt == i128::from(period) {
                slots.push((true, i + 1));
            } else if dt == 0 && dc == 0 {
                slots.push((false, i + 1));
                bound = bound.min(time);
            } else {
                return None;
            }
            i += 1 + usize::from(counted);
        }
        Some((slots, bound))
    }

    /// The earliest time after `since` at which idle polling would read a deadline: a
    /// consumer's next auto-commit (`poll()`), a client's metadata growing older than
    /// metadata.max.age.ms. One already passed by `since` does not count: its condition stays
    /// true once it is, and acting on it (an auto-commit, a refresh) would have changed the
    /// state the marks since then found equal, so the idle events never read it.
    fn idle_deadline(&self, since: u64) -> u64 {
        let commits = self.world.consumers.iter().enumerate().filter_map(|(c, s)| {
            let cfg = &self.model.consumers[c];
            cfg.enable_auto_commit.then(|| s.last_auto_commit.saturating_add(cfg.auto_commit_interval_ms))
        });
        let metadata = self
            .world
            .metadata
            .iter()
            .filter_map(|(c, m)| m.refreshed_at.map(|t| t.saturating_add(self.metadata_max_age(*c))));
        commits.chain(metadata).filter(|t| *t > since).min().unwrap_or(u64::MAX)
    }
}

/// Whether `now` is `before` less some idle events (both sorted): (idle, masked hash, counted).
fn idle_gone_only(before: &[(bool, u64, bool)], now: &[(bool, u64, bool)]) -> bool {
    let mut now = now.iter().peekable();
    for e in before {
        if now.peek() == Some(&e) {
            now.next();
        } else if !e.0 {
            return false;
        }
    }
    now.next().is_none()
}

/// How much each counter moved from mark `a` to mark `b` (of the same length).
fn deltas(a: &Mark, b: &Mark) -> Vec<i128> {
    a.counters.iter().zip(&b.counters).map(|(x, y)| i128::from(*y) - i128::from(*x)).collect()
}

/// Visits the counters idle polling advances, always in the same order.
fn world_counters(w: &mut World, f: &mut dyn FnMut(&mut u64)) {
    f(&mut w.next_token);
    w.links.values_mut().for_each(&mut *f);
    for p in &mut w.partitions {
        p.caught_up_at.iter_mut().for_each(&mut *f);
        for h in &mut p.held {
            let (HeldFetch::Follower { token, .. } | HeldFetch::Consumer { token, .. }) = h;
            f(token);
        }
    }
    w.follower_fetches.values_mut().for_each(&mut *f);
    for c in &mut w.consumers {
        c.fetches_sent.values_mut().for_each(&mut *f);
    }
    for v in w.messages_sent.values_mut() {
        let mut x = u64::from(*v);
        f(&mut x);
        *v = x as u32;
    }
}

/// A hash of `e` with its counter zeroed.
fn masked_hash(e: &Event) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    match event_counter(e) {
        Some(_) => {
            let mut e = e.clone();
            set_event_counter(&mut e, 0);
            e.hash(&mut h);
        }
        None => e.hash(&mut h),
    }
    h.finish()
}

/// The counter an idle event carries: a held fetch's token, a timeout's fetch or generation.
fn event_counter(e: &Event) -> Option<u64> {
    match *e {
        Event::FetchWaitExpired { token, .. } => Some(token),
        Event::ConsumerFetchTimeout { fetch, .. } => Some(fetch),
        Event::FollowerFetchTimeout { generation, .. } => Some(generation),
        _ => None,
    }
}

fn set_event_counter(e: &mut Event, v: u64) {
    match e {
        Event::FetchWaitExpired { token, .. } => *token = v,
        Event::ConsumerFetchTimeout { fetch, .. } => *fetch = v,
        Event::FollowerFetchTimeout { generation, .. } => *generation = v,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{Options, Sim};

    /// Runs `source` to its end, skipping idle periods or not; returns the final fingerprint,
    /// the events counted, the clock, how many `step_once` calls counted more than one event,
    /// and how many of those jumps resumed a period after an interruption.
    fn run(source: &str, skip: bool) -> (u64, u64, u64, u64, u32) {
        let model = crate::load(source).expect("valid scenario");
        let mut sim = Sim::new(&model, &Options::default());
        sim.skipper = super::Skipper::new(!skip);
        let mut jumps = 0;
        loop {
            let before = sim.events;
            if sim.step_once().is_some() {
                break;
            }
            jumps += u64::from(sim.events > before + 1);
        }
        (sim.fingerprint(), sim.events, sim.clock, jumps, sim.skipper.resumed)
    }

    /// A run that waits 40 s between sends (idle fetching all the while) jumps over most of
    /// it and ends in exactly the state, event count and time of the run that steps through.
    #[test]
    fn a_jump_lands_where_stepping_does() {
        let mut resumes = 0;
        for source in [
            include_str!("../../scenarios/run/at-least-once-producer-duplicate.scn"),
            include_str!("../../scenarios/run/delivery-guarantees.scn"),
            include_str!("../../scenarios/run/at-most-once-producer-no-retry.scn"),
        ] {
            let (fp, events, clock, jumps, resumed) = run(source, true);
            let (fp_off, events_off, clock_off, none, _) = run(source, false);
            assert_eq!(none, 0, "no jump when off");
            assert!(jumps > 0, "idle periods are jumped over");
            resumes += resumed;
            assert_eq!((fp, events, clock), (fp_off, events_off, clock_off));
        }
        assert!(resumes > 0, "a period interrupted by an idle event is resumed from one mark");
    }

    /// A resumed period may have lost idle events that were bounds, nothing else.
    #[test]
    fn only_idle_events_may_be_gone() {
        use super::idle_gone_only;
        let (idle_a, idle_b, active) = ((true, 1, false), (true, 2, true), (false, 3, false));
        assert!(idle_gone_only(&[idle_a, idle_b, active], &[idle_a, idle_b, active]));
        assert!(idle_gone_only(&[idle_a, idle_b, active], &[idle_b, active]));
        assert!(idle_gone_only(&[idle_a, idle_b, active], &[active]));
        assert!(!idle_gone_only(&[idle_a, idle_b, active], &[idle_a, idle_b]), "an active event gone");
        assert!(!idle_gone_only(&[idle_a, active], &[idle_a, idle_b, active]), "an event come");
        assert!(!idle_gone_only(&[idle_a], &[(true, 1, true)]), "another event");
    }
}
