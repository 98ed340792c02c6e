//! Lowering of `processor` blocks and of the expression language their outputs use.

use super::{Lower, Rule, only, parts, span_of, unexpected};
use crate::ast::{BinOp, Expr, Func, Output, Processor, Spanned};
use crate::diag::Diagnostic;
use crate::model::limits;
use pest::iterators::Pair;

impl Lower<'_> {
    /// `processor NAME { guarantee ...  consume T group G  output T2 value EXPR ... }`
    pub(super) fn processor_block(&mut self, pair: Pair<'_, Rule>) -> Processor {
        let mut inner = parts(pair);
        let name = self.name(inner.next().expect("grammar: a processor has a name"));
        let mut processor = Processor {
            name,
            guarantee: None,
            consumes: Vec::new(),
            outputs: Vec::new(),
            start_at: None,
            settings: Vec::new(),
        };
        for stmt in inner {
            let at = span_of(&stmt);
            match stmt.as_rule() {
                Rule::guarantee_stmt => {
                    let guarantee = self.guarantee_stmt(stmt);
                    self.once(&mut processor.guarantee, guarantee, "guarantee", at);
                }
                // `consume t1, t2 group g` has the shape of `subscribe`.
                Rule::consume_stmt => {
                    let consume = self.subscribe_stmt(stmt);
                    processor.consumes.push(consume);
                }
                Rule::output_stmt => {
                    let output = self.output_stmt(stmt);
                    processor.outputs.push(output);
                }
                Rule::start_stmt => {
                    let start = self.start_stmt(stmt);
                    self.once(&mut processor.start_at, start, "start at", at);
                }
                Rule::setting => {
                    let setting = self.setting(stmt);
                    processor.settings.push(setting);
                }
                _ => unexpected(&stmt, "processor_block"),
            }
        }
        processor
    }

    /// `output TOPIC [key EXPR] [value EXPR] [when EXPR]`
    fn output_stmt(&mut self, pair: Pair<'_, Rule>) -> Spanned<Output> {
        let span = span_of(&pair);
        let mut inner = parts(pair);
        let topic = self.name(inner.next().expect("grammar: an output names its topic"));
        let mut output = Output { topic, key: None, value: None, when: None };
        for part in inner {
            let expr = self.bounded_expr(only(part.clone()));
            match part.as_rule() {
                Rule::output_key => output.key = Some(expr),
                Rule::output_value => output.value = Some(expr),
                Rule::output_when => output.when = Some(expr),
                _ => unexpected(&part, "output_stmt"),
            }
        }
        Spanned::new(output, span)
    }

    /// An `output` expression of at most `MAX_EXPR_TERMS` operands and operators. A longer one
    /// is a diagnostic and is not lowered: its tree (a chain of 40,000 `!` or `+`) would be
    /// as deep as it is long, and every pass over it recursive.
    fn bounded_expr(&mut self, pair: Pair<'_, Rule>) -> Spanned<Expr> {
        let span = span_of(&pair);
        let terms = pair
            .clone()
            .into_inner()
            .flatten()
            .filter(|p| {
                matches!(
                    p.as_rule(),
                    Rule::string
                        | Rule::int
                        | Rule::field
                        | Rule::func
                        | Rule::op_or
                        | Rule::op_and
                        | Rule::op_cmp
                        | Rule::op_add
                        | Rule::op_mul
                        | Rule::op_not
                )
            })
            .count();
        if terms > limits::MAX_EXPR_TERMS {
            self.diags.push(
                Diagnostic::new("expression too long", span).label(format!(
                    "expected at most {} operands and operators, found {terms}",
                    limits::MAX_EXPR_TERMS
                )),
            );
            return Spanned::new(Expr::Str(String::new()), span);
        }
        self.expr(pair)
    }

    /// Any expression rule, lowered by precedence level.
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Spanned<Expr> {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(only(pair)),
            Rule::or_expr | Rule::and_expr | Rule::cmp_expr | Rule::sum_expr | Rule::prod_expr => {
                let mut inner = parts(pair);
                let mut left = self.expr(inner.next().expect("grammar: an operand"));
                while let Some(op) = inner.next() {
                    let right = self.expr(inner.next().expect("grammar: an operator has a right operand"));
                    let joined = crate::diag::Span::new(left.span.start, right.span.end);
                    left = Spanned::new(Expr::Binary(bin_op(op.as_str()), Box::new(left), Box::new(right)), joined);
                }
                left
            }
            Rule::unary => {
                let inner: Vec<Pair<'_, Rule>> = parts(pair).collect();
                let (nots, atom) = inner.split_at(inner.len() - 1);
                let mut e = self.expr(atom[0].clone());
                for _ in nots {
                    e = Spanned::new(Expr::Not(Box::new(e)), span);
                }
                e
            }
            Rule::call => {
                let mut inner = parts(pair);
                let func = match inner.next().expect("grammar: a function name").as_str() {
                    "upper" => Func::Upper,
                    "lower" => Func::Lower,
                    "int" => Func::Int,
                    "str" => Func::Str,
                    _ => Func::Len,
                };
                let args = inner.map(|a| self.expr(a)).collect();
                Spanned::new(Expr::Call(func, args), span)
            }
            Rule::string => {
                let s = self.string(pair);
                Spanned::new(Expr::Str(s.node), s.span)
            }
            Rule::int => {
                let n = self.int(pair);
                Spanned::new(Expr::Int(i64::try_from(n.node).unwrap_or(i64::MAX)), n.span)
            }
            Rule::field => Spanned::new(if pair.as_str() == "key" { Expr::Key } else { Expr::Value }, span),
            _ => unexpected(&pair, "expr"),
        }
    }
}

fn bin_op(text: &str) -> BinOp {
    match text {
        "||" => BinOp::Or,
        "&&" => BinOp::And,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<=" => BinOp::Le,
        ">=" => BinOp::Ge,
        "<" => BinOp::Lt,
        ">" => BinOp::Gt,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        _ => BinOp::Rem,
    }
}
