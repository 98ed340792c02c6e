//! Evaluation of the processor expression language over an input record's key and value.
//!
//! Values are strings, whole numbers or booleans. `+` adds two numbers and otherwise
//! concatenates; `- * / %` need numbers; comparisons compare numbers when both sides are numbers
//! (or numeric strings) and text otherwise.

use crate::ast::{BinOp, Expr, Func, Spanned};
use crate::diag::Span;
use crate::model::limits;
use std::borrow::Cow;

/// A value; a text borrows the input record or the scenario where it can (evaluating an
/// output for each of a million inputs copies only what it builds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
}

impl<'a> Val<'a> {
    pub fn text(&self) -> String {
        self.as_text().into_owned()
    }

    /// The value as text, borrowed where it is one.
    fn as_text(&self) -> Cow<'_, str> {
        match self {
            Val::Str(s) => Cow::Borrowed(s),
            Val::Int(n) => Cow::Owned(n.to_string()),
            Val::Bool(b) => Cow::Owned(b.to_string()),
        }
    }

    /// [`Val::text`], borrowed where it is a borrowed text.
    pub fn into_cow(self) -> Cow<'a, str> {
        match self {
            Val::Str(s) => s,
            other => Cow::Owned(other.text()),
        }
    }

    /// [`Val::text`], moving a text out instead of copying it.
    pub fn into_text(self) -> String {
        match self {
            Val::Str(s) => s.into_owned(),
            other => other.text(),
        }
    }

    fn number(&self) -> Option<i64> {
        match self {
            Val::Int(n) => Some(*n),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Bool(_) => None,
        }
    }

    pub fn truthy(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// Why an expression could not be evaluated, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub span: Span,
    pub message: String,
}

fn err(span: Span, message: impl Into<String>) -> EvalError {
    EvalError { span, message: message.into() }
}

/// Evaluates `e`; a text result longer than [`limits::MAX_VALUE_BYTES`] is an error, so that
/// concatenation (and processors reading processors) cannot grow values without bound.
pub fn eval<'a>(e: &'a Spanned<Expr>, key: Option<&'a str>, value: &'a str) -> Result<Val<'a>, EvalError> {
    let v = eval_unbounded(e, key, value)?;
    match &v {
        Val::Str(s) if s.len() > limits::MAX_VALUE_BYTES => Err(err(
            e.span,
            format!("this makes a text of {} bytes; at most {} are allowed", s.len(), limits::MAX_VALUE_BYTES),
        )),
        _ => Ok(v),
    }
}

fn eval_unbounded<'a>(e: &'a Spanned<Expr>, key: Option<&'a str>, value: &'a str) -> Result<Val<'a>, EvalError> {
    Ok(match &e.node {
        Expr::Str(s) => Val::Str(Cow::Borrowed(s)),
        Expr::Int(n) => Val::Int(*n),
        Expr::Key => Val::Str(Cow::Borrowed(key.unwrap_or_default())),
        Expr::Value => Val::Str(Cow::Borrowed(value)),
        Expr::Not(inner) => {
            // `!!!x` is one loop, not three nested calls: a chain of `!` costs no stack.
            let (mut inner, mut flips) = (inner, 1usize);
            while let Expr::Not(next) = &inner.node {
                inner = next;
                flips += 1;
            }
            let v = eval(inner, key, value)?;
            let b = v.truthy().ok_or_else(|| err(inner.span, format!("`!` needs a condition, got {:?}", v.text())))?;
            Val::Bool(b ^ (flips % 2 == 1))
        }
        Expr::Call(f, args) => {
            if args.len() != 1 {
                return Err(err(e.span, format!("this function takes one argument, not {}", args.len())));
            }
            let v = eval(&args[0], key, value)?;
            match f {
                Func::Upper => Val::Str(Cow::Owned(v.as_text().to_uppercase())),
                Func::Lower => Val::Str(Cow::Owned(v.as_text().to_lowercase())),
                Func::Str => Val::Str(Cow::Owned(v.into_text())),
                Func::Len => Val::Int(v.as_text().chars().count() as i64),
                Func::Int => {
                    Val::Int(v.number().ok_or_else(|| err(args[0].span, format!("{:?} is not a number", v.text())))?)
                }
            }
        }
        Expr::Binary(op, a, b) => {
            let x = eval(a, key, value)?;
            // `&&` and `||` short-circuit.
            if matches!(op, BinOp::And | BinOp::Or) {
                let l = x.truthy().ok_or_else(|| err(a.span, format!("expected a condition, got {:?}", x.text())))?;
                if (*op == BinOp::And && !l) || (*op == BinOp::Or && l) {
                    return Ok(Val::Bool(l));
                }
                let y = eval(b, key, value)?;
                return Ok(Val::Bool(
                    y.truthy().ok_or_else(|| err(b.span, format!("expected a condition, got {:?}", y.text())))?,
                ));
            }
            let y = eval(b, key, value)?;
            match op {
                BinOp::Add => match (&x, &y) {
                    (Val::Int(m), Val::Int(n)) => {
                        Val::Int(m.checked_add(*n).ok_or_else(|| err(e.span, "number overflow"))?)
                    }
                    _ => Val::Str(Cow::Owned(x.into_text() + &y.as_text())),
                },
                BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                    let m = x.number().ok_or_else(|| err(a.span, format!("{:?} is not a number", x.text())))?;
                    let n = y.number().ok_or_else(|| err(b.span, format!("{:?} is not a number", y.text())))?;
                    let r = match op {
                        BinOp::Sub => m.checked_sub(n),
                        BinOp::Mul => m.checked_mul(n),
                        BinOp::Div => m.checked_div(n),
                        _ => m.checked_rem(n),
                    };
                    Val::Int(r.ok_or_else(|| err(e.span, "division by zero or number overflow"))?)
                }
                _ => {
                    let ord = match (x.number(), y.number()) {
                        (Some(m), Some(n)) => m.cmp(&n),
                        _ => x.as_text().cmp(&y.as_text()),
                    };
                    Val::Bool(match op {
                        BinOp::Eq => ord.is_eq(),
                        BinOp::Ne => ord.is_ne(),
                        BinOp::Lt => ord.is_lt(),
                        BinOp::Le => ord.is_le(),
                        BinOp::Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    })
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_expr(src: &str) -> Spanned<Expr> {
        let file = crate::parse::parse(&format!(
            "scenario \"x\"\nprocessor p {{ consume t group g  output o value {src} }}\n"
        ))
        .expect("parses");
        file.processors[0].outputs[0].node.value.clone().expect("value")
    }

    #[test]
    fn arithmetic_strings_and_conditions() {
        let v = |src: &str| eval(&parse_expr(src), Some("k1"), "120").map(|v| v.text());
        assert_eq!(v("value + 5"), Ok("1205".into()), "string + number concatenates");
        assert_eq!(v("int(value) + 5"), Ok("125".into()));
        assert_eq!(v("int(value) * 2 - 40 / 4"), Ok("230".into()), "precedence");
        assert_eq!(v("(int(value) % 7)"), Ok("1".into()));
        assert_eq!(v("\"debit:\" + upper(key)"), Ok("debit:K1".into()));
        assert_eq!(v("int(value) > 100 && key != \"k2\""), Ok("true".into()));
        assert_eq!(v("value < \"2\""), Ok("false".into()), "numeric strings compare as numbers");
        assert_eq!(v("!(len(key) == 2) || value < \"2x\""), Ok("true".into()), "otherwise as text");
        assert_eq!(v("lower(\"AB\") + str(1 + 2)"), Ok("ab3".into()));
        assert!(v("int(key)").unwrap_err().message.contains("\"k1\" is not a number"));
        assert!(v("int(value) / 0").is_err());
    }
}
