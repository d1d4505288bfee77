//! Which dead letters a command acts on: job, class, record key, failure time and a count,
//! parsed from the command line once ("parse, don't validate").

use chrono::{DateTime, Duration, Utc};
use k3sync_common::dlq::{DeadClass, UnknownClass};
use k3sync_common::settings::{Settings, SettingsError};

use super::letter::Letter;
use crate::cli::SelectArgs;

/// A parsed selection; every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Dead queues to walk, in this order (never empty after [`Selection::from_args`]).
    pub jobs: Vec<String>,
    pub classes: Vec<DeadClass>,
    pub keys: Vec<i64>,
    /// Letters that failed at or after this time (letters without a time never match).
    pub since: Option<DateTime<Utc>>,
    /// At most this many letters in all.
    pub limit: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    #[error(transparent)]
    Job(#[from] SettingsError),
    #[error("--class: {0}")]
    Class(#[from] UnknownClass),
    #[error(
        "--since `{0}` is neither an RFC 3339 time (2024-03-12T09:00:00Z) nor an age like 90s, 30m, 1h, 2d, 1w or 1h30m"
    )]
    Since(String),
}

impl Selection {
    /// Every letter of every job.
    pub fn all(settings: &Settings) -> Self {
        Self {
            jobs: settings.jobs.iter().map(|j| j.name.clone()).collect(),
            ..Self::default()
        }
    }

    /// Every letter of the job called `job`, or of every job when `job` is `None`.
    pub fn of_job(settings: &Settings, job: Option<&str>) -> Result<Self, SettingsError> {
        let jobs = settings.selected_jobs(job)?;
        Ok(Self {
            jobs: jobs.iter().map(|j| j.name.clone()).collect(),
            ..Self::default()
        })
    }

    pub fn from_args(settings: &Settings, args: &SelectArgs) -> Result<Self, SelectionError> {
        let selection = Self::of_job(settings, args.job.as_deref())?;
        let since = args
            .since
            .as_deref()
            .map(|text| parse_since(text, Utc::now()))
            .transpose()?;
        Ok(Self {
            classes: args
                .classes
                .iter()
                .map(|c| c.parse())
                .collect::<Result<_, _>>()?,
            keys: args.keys.clone(),
            since,
            limit: args.limit,
            ..selection
        })
    }

    pub fn matches(&self, letter: &Letter) -> bool {
        (self.classes.is_empty() || self.classes.iter().any(|c| c.as_str() == letter.class))
            && (self.keys.is_empty() || letter.keys.iter().any(|k| self.keys.contains(k)))
            && self
                .since
                .is_none_or(|since| letter.failed_at.is_some_and(|at| at >= since))
    }

    /// Whether `done` letters use up the limit.
    pub fn full(&self, done: usize) -> bool {
        self.limit.is_some_and(|limit| done >= limit)
    }
}

/// An RFC 3339 time, or an age (`90s`, `30m`, `1h30m`, `2d`, `1w`) counted back from `now`.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, SelectionError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let bad = || SelectionError::Since(text.to_owned());
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        total = total.checked_add(&unit).ok_or_else(bad)?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    now.checked_sub_signed(total).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-12T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn since_reads_ages_and_rfc3339_times() {
        let at = |s: &str| parse_since(s, now()).unwrap().to_rfc3339();
        assert_eq!(at("1h"), "2024-03-12T09:00:00+00:00");
        assert_eq!(at("1h30m"), "2024-03-12T08:30:00+00:00");
        assert_eq!(at("90s"), "2024-03-12T09:58:30+00:00");
        assert_eq!(at("2d"), "2024-03-10T10:00:00+00:00");
        assert_eq!(at("1w"), "2024-03-05T10:00:00+00:00");
        assert_eq!(at("2024-03-12T17:00:00+08:00"), "2024-03-12T09:00:00+00:00");
    }

    #[test]
    fn since_refuses_what_it_cannot_read() {
        for bad in ["", "1", "h", "1x", "yesterday", "1h30"] {
            assert!(parse_since(bad, now()).is_err(), "{bad}");
        }
    }

    fn letter(class: &str, keys: Vec<i64>, failed_at: Option<&str>) -> Letter {
        Letter {
            job: "j".into(),
            position: 0,
            id: None,
            class: class.into(),
            error: None,
            keys,
            attempt: None,
            failed_at: failed_at
                .map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)),
            worker: None,
            run: None,
            deaths: None,
            body: Vec::new(),
            headers: Default::default(),
        }
    }

    #[test]
    fn every_given_condition_must_hold() {
        let s = Selection {
            jobs: vec!["j".into()],
            classes: vec![DeadClass::Data],
            keys: vec![7],
            since: Some(parse_since("1h", now()).unwrap()),
            limit: None,
        };
        assert!(s.matches(&letter("data", vec![7], Some("2024-03-12T09:30:00Z"))));
        assert!(!s.matches(&letter("mapping", vec![7], Some("2024-03-12T09:30:00Z"))));
        assert!(!s.matches(&letter("data", vec![8], Some("2024-03-12T09:30:00Z"))));
        assert!(!s.matches(&letter("data", vec![7], Some("2024-03-12T08:30:00Z"))));
        assert!(!s.matches(&letter("data", vec![7], None)));
        let everything = Selection {
            jobs: vec!["j".into()],
            ..Selection::default()
        };
        assert!(everything.matches(&letter("decode", vec![], None)));
    }
}
