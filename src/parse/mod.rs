//! Parsing: turns `.scn` source text into the typed syntax tree of [`crate::ast`], or into
//! diagnostics for syntax errors, numbers out of range and repeated declarations.
//!
//! pest recognises the text (grammar/scenario.pest); the `Lower` methods, one per grammar rule
//! (here, in `tokens`, `faults` and `expects`), turn its pairs into owned AST nodes straight
//! away, so no pest type leaves this module. `errors` words syntax errors for people.

mod errors;
mod expects;
mod faults;
mod prescan;
mod processors;
mod recover;
#[cfg(test)]
mod tests;
mod tokens;

use crate::ast::{
    Assign, Cluster, CommitMode, Consumer, File, Guarantee, Producer, Send, Setting, Spanned, Subscribe, Topic, Value,
};
use crate::diag::{Diagnostic, Diagnostics, Span, line_col};
use pest::Parser as _;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/scenario.pest"]
struct ScenarioParser;

/// Parses a whole scenario file into its syntax tree.
///
/// # Errors
///
/// Either the syntax errors (each top-level block's first, up to
/// `recover::MAX_SYNTAX_ERRORS`), or every problem found while building the tree (numbers too
/// large, duplicate declarations), in source order.
pub fn parse(source: &str) -> Result<File, Diagnostics> {
    // Detailed attempts let syntax errors name missing punctuation (`}`, `,`, `]`) too. The
    // switch is global to pest and costs about twice the parse time (~0.15 ms for a 1.5 KB
    // scenario in release), small next to a simulation; it is only ever switched on.
    let early = prescan::prescan(source);
    if !early.is_empty() {
        return Err(Diagnostics(early));
    }
    pest::set_error_detail(true);
    let mut pairs = ScenarioParser::parse(Rule::file, source)
        .map_err(|err| Diagnostics(recover::syntax_errors(source, errors::syntax_error(&err, source))))?;
    let file = pairs.next().expect("grammar: a successful parse yields the file pair");
    let mut lower = Lower { source, diags: Vec::new() };
    let file = lower.file(file);
    if lower.diags.is_empty() {
        Ok(file)
    } else {
        lower.diags.sort_by_key(|d| d.span.start);
        Err(Diagnostics(lower.diags))
    }
}

/// The lowering pass: the source (for line numbers in notes) and the problems found so far.
struct Lower<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
}

/// The byte range a pair covers, without trailing whitespace and comments.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    Span::new(pair.as_span().start(), end_of(pair))
}

/// Where a pair's own text ends. pest lets a rule that ends in an optional part (`attempt?`)
/// keep the whitespace and comments it skipped looking for that part; those are cut off here.
fn end_of(pair: &Pair<'_, Rule>) -> usize {
    let end = pair.as_span().end();
    let Some(last) = pair.clone().into_inner().last() else {
        return end;
    };
    let last_end = end_of(&last);
    let mut tail = pair.get_input().get(last_end..end).unwrap_or_default();
    loop {
        tail = tail.trim_start();
        match tail.strip_prefix('#') {
            Some(comment) => tail = comment.find('\n').map_or("", |n| &comment[n..]),
            None => break,
        }
    }
    if tail.is_empty() { last_end } else { end }
}

/// A pair's children without its keywords, which carry no data.
fn parts<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

/// The one non-keyword child of a pair the grammar gives exactly one.
fn only<'i>(pair: Pair<'i, Rule>) -> Pair<'i, Rule> {
    let rule = pair.as_rule();
    parts(pair).next().unwrap_or_else(|| unreachable!("grammar: {rule:?} always has a child"))
}

/// A child the grammar cannot produce at this place.
fn unexpected(pair: &Pair<'_, Rule>, parent: &str) -> ! {
    unreachable!("grammar: unexpected {:?} in {parent}", pair.as_rule())
}

/// Whether a rule is a keyword (`kw_*`): punctuation of the language, dropped when lowering.
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_acked
            | Rule::kw_after
            | Rule::kw_at
            | Rule::kw_assign
            | Rule::kw_attempt
            | Rule::kw_before
            | Rule::kw_broker
            | Rule::kw_brokers
            | Rule::kw_cluster
            | Rule::kw_commit
            | Rule::kw_controller
            | Rule::kw_transaction
            | Rule::kw_processor
            | Rule::kw_pause
            | Rule::kw_shutdown
            | Rule::kw_heal
            | Rule::kw_delete
            | Rule::kw_records
            | Rule::kw_from
            | Rule::kw_resume
            | Rule::kw_consume
            | Rule::kw_output
            | Rule::kw_commits
            | Rule::kw_consumer
            | Rule::kw_crash
            | Rule::kw_description
            | Rule::kw_every
            | Rule::kw_expect
            | Rule::kw_faults
            | Rule::kw_for
            | Rule::kw_group
            | Rule::kw_guarantee
            | Rule::kw_is
            | Rule::kw_key
            | Rule::kw_leader
            | Rule::kw_log
            | Rule::kw_lost
            | Rule::kw_message
            | Rule::kw_network
            | Rule::kw_of
            | Rule::kw_offset
            | Rule::kw_on
            | Rule::kw_partition
            | Rule::kw_poll
            | Rule::kw_processed
            | Rule::kw_processes
            | Rule::kw_processing
            | Rule::kw_producer
            | Rule::kw_restart
            | Rule::kw_run
            | Rule::kw_scenario
            | Rule::kw_seed
            | Rule::kw_send
            | Rule::kw_start
            | Rule::kw_subscribe
            | Rule::kw_then
            | Rule::kw_to
            | Rule::kw_topic
            | Rule::kw_track
            | Rule::kw_value
            | Rule::kw_when
    )
}

impl Lower<'_> {
    // ------------------------------------------------------------------ bookkeeping

    /// Stores `value` in an empty `slot`; a second declaration is a `duplicate` diagnostic.
    fn once<T>(&mut self, slot: &mut Option<Spanned<T>>, value: Spanned<T>, what: &str, at: Span) {
        match slot {
            Some(first) => {
                let first = first.span;
                self.duplicate(what, at, first);
            }
            None => *slot = Some(value),
        }
    }

    fn duplicate(&mut self, what: &str, at: Span, first: Span) {
        let (line, _) = line_col(self.source, first.start);
        self.diags.push(
            Diagnostic::new(format!("duplicate `{what}`"), at)
                .label("declared again here")
                .note(format!("first declared at line {line}")),
        );
    }

    fn too_large(&mut self, span: Span, what: &str, max: impl std::fmt::Display) {
        self.diags.push(Diagnostic::new(format!("{what} too large"), span).label(format!("at most {max}")));
    }

    // ---------------------------------------------------------------------- layout

    /// `file`: the scenario line, its description and every item, in order.
    fn file(&mut self, pair: Pair<'_, Rule>) -> File {
        let mut file = File {
            title: Spanned::new(String::new(), Span::default()),
            description: None,
            seed: None,
            run_for: None,
            network: Vec::new(),
            cluster: None,
            producers: Vec::new(),
            consumers: Vec::new(),
            processors: Vec::new(),
            faults: Vec::new(),
            track: None,
            expects: Vec::new(),
        };
        let mut track_span: Option<Span> = None;
        for item in parts(pair) {
            let at = span_of(&item);
            match item.as_rule() {
                Rule::scenario_decl => file.title = self.scenario_decl(item),
                Rule::description_decl => {
                    let description = self.description_decl(item);
                    self.once(&mut file.description, description, "description", at);
                }
                Rule::seed_decl => {
                    let seed = self.seed_decl(item);
                    self.once(&mut file.seed, seed, "seed", at);
                }
                Rule::run_decl => {
                    let run_for = self.run_decl(item);
                    self.once(&mut file.run_for, run_for, "run for", at);
                }
                Rule::network_block => {
                    let settings = self.network_block(item);
                    file.network.extend(settings);
                }
                Rule::cluster_block => {
                    let cluster = self.cluster_block(item);
                    self.once(&mut file.cluster, cluster, "cluster", at);
                }
                Rule::producer_block => {
                    let producer = self.producer_block(item);
                    file.producers.push(producer);
                }
                Rule::consumer_block => {
                    let consumer = self.consumer_block(item);
                    file.consumers.push(consumer);
                }
                Rule::processor_block => {
                    let processor = self.processor_block(item);
                    file.processors.push(processor);
                }
                Rule::faults_block => {
                    let faults = self.faults_block(item);
                    file.faults.extend(faults);
                }
                Rule::track_block => {
                    let vars = self.track_block(item);
                    match track_span {
                        Some(first) => self.duplicate("track", at, first),
                        None => {
                            track_span = Some(at);
                            file.track = Some(vars);
                        }
                    }
                }
                Rule::expect_block => {
                    let expects = self.expect_block(item);
                    file.expects.extend(expects);
                }
                Rule::EOI => {}
                _ => unexpected(&item, "file"),
            }
        }
        file
    }

    /// `scenario "title"`
    fn scenario_decl(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        self.string(only(pair))
    }

    /// `description "text"`
    fn description_decl(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        self.string(only(pair))
    }

    /// `seed 42`
    fn seed_decl(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.int(only(pair))
    }

    /// `run for 60s`
    fn run_decl(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.duration(only(pair))
    }

    /// `network { latency 2ms }`
    fn network_block(&mut self, pair: Pair<'_, Rule>) -> Vec<Setting> {
        parts(pair).map(|p| self.setting(p)).collect()
    }

    /// `config.key value`
    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let mut inner = parts(pair);
        let key = inner.next().expect("grammar: a setting has a key");
        let value = inner.next().expect("grammar: a setting has a value");
        Setting { key: self.config_key(key), value: self.config_value(value) }
    }

    /// `max.poll.records`
    fn config_key(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = span_of(&pair);
        self.cap_name(span, "setting name");
        Spanned::new(pair.as_str().to_string(), span)
    }

    /// `250ms`, `42`, `-1`, `true`, `"text"`, `all`
    fn config_value(&mut self, pair: Pair<'_, Rule>) -> Spanned<Value> {
        let value = only(pair);
        let span = span_of(&value);
        let node = match value.as_rule() {
            Rule::duration => Value::Duration(self.duration(value).node),
            Rule::int => Value::Int(self.signed(value)),
            Rule::negative => Value::Int(self.signed(value)),
            Rule::boolean => Value::Bool(self.boolean(value)),
            Rule::string => Value::Str(self.string(value).node),
            Rule::word => Value::Word(self.word(value)),
            Rule::version => Value::Word(value.as_str().to_string()),
            _ => unexpected(&value, "config_value"),
        };
        Spanned::new(node, span)
    }

    // --------------------------------------------------------------------- cluster

    /// `cluster { brokers 3  topic orders { ... }  some.setting value }`
    fn cluster_block(&mut self, pair: Pair<'_, Rule>) -> Spanned<Cluster> {
        let span = span_of(&pair);
        let mut cluster = Cluster { brokers: None, topics: Vec::new(), settings: Vec::new() };
        for stmt in parts(pair) {
            let at = span_of(&stmt);
            match stmt.as_rule() {
                Rule::brokers_stmt => {
                    let brokers = self.brokers_stmt(stmt);
                    self.once(&mut cluster.brokers, brokers, "brokers", at);
                }
                Rule::topic_block => {
                    let topic = self.topic_block(stmt);
                    cluster.topics.push(topic);
                }
                Rule::setting => {
                    let setting = self.setting(stmt);
                    cluster.settings.push(setting);
                }
                _ => unexpected(&stmt, "cluster_block"),
            }
        }
        Spanned::new(cluster, span)
    }

    /// `brokers 3`
    fn brokers_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.int(only(pair))
    }

    /// `topic orders { partitions 3 }`
    fn topic_block(&mut self, pair: Pair<'_, Rule>) -> Topic {
        let mut inner = parts(pair);
        let name = self.name(inner.next().expect("grammar: a topic has a name"));
        let settings = inner.map(|p| self.setting(p)).collect();
        Topic { name, settings }
    }

    // -------------------------------------------------------------------- producer

    /// `producer shop { guarantee ...  acks all  send ... }`
    fn producer_block(&mut self, pair: Pair<'_, Rule>) -> Producer {
        let mut inner = parts(pair);
        let name = self.name(inner.next().expect("grammar: a producer has a name"));
        let mut producer =
            Producer { name, guarantee: None, settings: Vec::new(), sends: Vec::new(), transactions: Vec::new() };
        for stmt in inner {
            let at = span_of(&stmt);
            match stmt.as_rule() {
                Rule::guarantee_stmt => {
                    let guarantee = self.guarantee_stmt(stmt);
                    self.once(&mut producer.guarantee, guarantee, "guarantee", at);
                }
                Rule::send_stmt => {
                    let send = self.send_stmt(stmt);
                    producer.sends.push(send);
                }
                Rule::transaction_block => {
                    let first_send = producer.sends.len();
                    let mut commit = true;
                    for part in parts(stmt) {
                        match part.as_rule() {
                            Rule::send_stmt => {
                                let send = self.send_stmt(part);
                                producer.sends.push(send);
                            }
                            Rule::txn_end => commit = part.as_str().starts_with("commit"),
                            _ => unexpected(&part, "transaction_block"),
                        }
                    }
                    let sends = producer.sends.len() - first_send;
                    producer.transactions.push(Spanned::new(crate::ast::Transaction { first_send, sends, commit }, at));
                }
                Rule::setting => {
                    let setting = self.setting(stmt);
                    producer.settings.push(setting);
                }
                _ => unexpected(&stmt, "producer_block"),
            }
        }
        producer
    }

    /// `guarantee at-least-once`
    fn guarantee_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<Guarantee> {
        let value = only(pair);
        Spanned::new(self.guarantee(&value), span_of(&value))
    }

    /// `at-most-once`, `at-least-once`, `exactly-once`
    fn guarantee(&mut self, pair: &Pair<'_, Rule>) -> Guarantee {
        match pair.as_str() {
            "at-most-once" => Guarantee::AtMostOnce,
            "at-least-once" => Guarantee::AtLeastOnce,
            "exactly-once" => Guarantee::ExactlyOnce,
            other => unreachable!("grammar: guarantee {other:?}"),
        }
    }

    /// `send [N] to TOPIC [key "k"] [value "v"] [partition P] [at T] [every T]`
    fn send_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<Send> {
        let span = span_of(&pair);
        let mut count = None;
        let mut topic = None;
        let (mut key, mut value, mut partition, mut at, mut every) = (None, None, None, None, None);
        for part in parts(pair) {
            let here = span_of(&part);
            match part.as_rule() {
                Rule::int => count = Some(self.int(part)),
                Rule::name => topic = Some(self.name(part)),
                Rule::send_key => {
                    let v = self.send_key(part);
                    self.once(&mut key, v, "key", here);
                }
                Rule::send_value => {
                    let v = self.send_value(part);
                    self.once(&mut value, v, "value", here);
                }
                Rule::send_partition => {
                    let v = self.send_partition(part);
                    self.once(&mut partition, v, "partition", here);
                }
                Rule::send_at => {
                    let v = self.send_at(part);
                    self.once(&mut at, v, "at", here);
                }
                Rule::send_every => {
                    let v = self.send_every(part);
                    self.once(&mut every, v, "every", here);
                }
                _ => unexpected(&part, "send_stmt"),
            }
        }
        let topic = topic.expect("grammar: a send names its topic");
        Spanned::new(Send { count, topic, key, value, partition, at, every }, span)
    }

    /// `key "order-{i}"`
    fn send_key(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        self.string(only(pair))
    }

    /// `value "message{i}"`
    fn send_value(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        self.string(only(pair))
    }

    /// `partition 0`
    fn send_partition(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.int(only(pair))
    }

    /// `at 100ms`
    fn send_at(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.duration(only(pair))
    }

    /// `every 10ms`
    fn send_every(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.duration(only(pair))
    }

    // -------------------------------------------------------------------- consumer

    /// `consumer billing { subscribe ...  commit ...  start at ...  settings }`
    fn consumer_block(&mut self, pair: Pair<'_, Rule>) -> Consumer {
        let mut inner = parts(pair);
        let name = self.name(inner.next().expect("grammar: a consumer has a name"));
        let mut consumer = Consumer {
            name,
            guarantee: None,
            subscribes: Vec::new(),
            assigns: Vec::new(),
            commit: None,
            start_at: None,
            settings: Vec::new(),
        };
        for stmt in inner {
            let at = span_of(&stmt);
            match stmt.as_rule() {
                Rule::guarantee_stmt => {
                    let guarantee = self.guarantee_stmt(stmt);
                    self.once(&mut consumer.guarantee, guarantee, "guarantee", at);
                }
                Rule::subscribe_stmt => {
                    let subscribe = self.subscribe_stmt(stmt);
                    consumer.subscribes.push(subscribe);
                }
                Rule::assign_stmt => {
                    let assign = self.assign_stmt(stmt);
                    consumer.assigns.push(assign);
                }
                Rule::commit_stmt => {
                    let commit = self.commit_stmt(stmt);
                    self.once(&mut consumer.commit, commit, "commit", at);
                }
                Rule::start_stmt => {
                    let start = self.start_stmt(stmt);
                    self.once(&mut consumer.start_at, start, "start at", at);
                }
                Rule::setting => {
                    let setting = self.setting(stmt);
                    consumer.settings.push(setting);
                }
                _ => unexpected(&stmt, "consumer_block"),
            }
        }
        consumer
    }

    /// `assign orders-0, orders-1 [group billing]`
    fn assign_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<Assign> {
        let span = span_of(&pair);
        let mut partitions = Vec::new();
        let mut group = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::partition_ref => partitions.push(self.partition_ref(p)),
                _ => group = Some(self.name(p)),
            }
        }
        Spanned::new(Assign { partitions, group }, span)
    }

    /// `subscribe orders, payments group billing`: the last name is the group.
    fn subscribe_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<Subscribe> {
        let span = span_of(&pair);
        let mut topics: Vec<Spanned<String>> = parts(pair).map(|p| self.name(p)).collect();
        let group = topics.pop().expect("grammar: subscribe ends with a group");
        Spanned::new(Subscribe { topics, group }, span)
    }

    /// `commit after-processing`
    fn commit_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<CommitMode> {
        let mode = only(pair);
        Spanned::new(self.commit_mode(&mode), span_of(&mode))
    }

    /// `before-processing`, `after-processing`, `none`
    fn commit_mode(&mut self, pair: &Pair<'_, Rule>) -> CommitMode {
        match pair.as_str() {
            "before-processing" => CommitMode::BeforeProcessing,
            "after-processing" => CommitMode::AfterProcessing,
            "none" => CommitMode::None,
            other => unreachable!("grammar: commit mode {other:?}"),
        }
    }

    /// `start at 100ms`
    fn start_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        self.duration(only(pair))
    }

    // ----------------------------------------------------------------------- track

    /// `track [billing.position, orders-0.high_watermark]`
    fn track_block(&mut self, pair: Pair<'_, Rule>) -> Vec<Spanned<String>> {
        parts(pair).map(|p| self.track_var(p)).collect()
    }

    /// `billing.position`
    fn track_var(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = span_of(&pair);
        self.cap_length(span, pair.as_str().len(), "tracked name", crate::model::limits::MAX_STRING_BYTES);
        Spanned::new(pair.as_str().to_string(), span)
    }
}
