//! The faults a simulator can be told to show, and the shared, changeable state
//! that says which one is active now.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

/// One way for a vendor to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Connections are refused; `for_duration` after which the listener reopens
    /// (`None`: until the fault is cleared in process).
    Down {
        for_duration: Option<Duration>,
    },
    Slow(Duration),
    ServerError,
    RateLimited {
        retry_after_secs: u64,
    },
    TimeoutAfterAccepting,
    Reject,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown fault `{0}`: expected down[=ms], slow=<ms>, 5xx, 429[=secs], timeout or reject, optionally followed by *N")]
pub struct FaultParseError(String);

impl FromStr for Fault {
    type Err = FaultParseError;

    /// `down`, `down=2000` (ms), `slow=1500` (ms), `5xx`, `429`, `429=30` (s),
    /// `timeout`, `reject`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || FaultParseError(text.to_owned());
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value.parse::<u64>().map_err(|_| error())?)),
            None => (text, None),
        };
        Ok(match (name, value) {
            ("down", millis) => Fault::Down {
                for_duration: millis.map(Duration::from_millis),
            },
            ("slow", Some(millis)) => Fault::Slow(Duration::from_millis(millis)),
            ("5xx", None) => Fault::ServerError,
            ("429", secs) => Fault::RateLimited {
                retry_after_secs: secs.unwrap_or(1),
            },
            ("timeout", None) => Fault::TimeoutAfterAccepting,
            ("reject", None) => Fault::Reject,
            _ => return Err(error()),
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Down { for_duration: None } => f.write_str("down"),
            Fault::Down {
                for_duration: Some(duration),
            } => write!(f, "down={}", duration.as_millis()),
            Fault::Slow(duration) => write!(f, "slow={}", duration.as_millis()),
            Fault::ServerError => f.write_str("5xx"),
            Fault::RateLimited { retry_after_secs } => write!(f, "429={retry_after_secs}"),
            Fault::TimeoutAfterAccepting => f.write_str("timeout"),
            Fault::Reject => f.write_str("reject"),
        }
    }
}

/// The active fault (if any) and how many more requests it applies to, shared by
/// every worker of a simulator and by whoever scripts it.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    active: Option<(Fault, Option<u32>)>,
    served: BTreeMap<String, u64>,
}

/// `fault` or `fault*N`, as given on the command line.
pub(crate) fn parse_scripted(text: &str) -> Result<(Fault, Option<u32>), FaultParseError> {
    match text.split_once('*') {
        Some((fault, times)) => {
            let times = times.parse().map_err(|_| FaultParseError(text.to_owned()))?;
            Ok((fault.parse()?, Some(times)))
        }
        None => Ok((text.parse()?, None)),
    }
}

impl Faults {
    /// Shows `fault` from now on, for the next `times` requests or until changed.
    pub fn set(&self, fault: Fault, times: Option<u32>) {
        self.lock().active = Some((fault, times));
    }

    pub fn clear(&self) {
        self.lock().active = None;
    }

    /// The fault active now, without using up one of its requests.
    pub fn current(&self) -> Option<Fault> {
        self.lock().active.map(|(fault, _)| fault)
    }

    /// Uses up one request of the active fault when it is `fault`'s kind and
    /// returns it (so a `5xx*2` fails exactly two requests).
    pub(crate) fn take_if(&self, wanted: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut state = self.lock();
        let (fault, times) = state.active.as_mut()?;
        if !wanted(fault) {
            return None;
        }
        let fault = *fault;
        if let Some(left) = times {
            *left = left.saturating_sub(1);
            if *left == 0 {
                state.active = None;
            }
        }
        Some(fault)
    }

    /// Whether this request is to be refused for its data; a simulator's handlers
    /// ask this and answer in their vendor's error format.
    pub fn take_reject(&self) -> bool {
        self.take_if(|fault| *fault == Fault::Reject).is_some()
    }

    pub(crate) fn count_served(&self, path: &str) {
        *self.lock().served.entry(path.to_owned()).or_default() += 1;
    }

    /// Vendor requests served so far, by path.
    pub fn served(&self) -> BTreeMap<String, u64> {
        self.lock().served.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The body of `PUT /__simulator/fault`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FaultCommand {
    pub fault: String,
    pub times: Option<u32>,
    pub for_millis: Option<u64>,
}

impl FaultCommand {
    pub fn fault(&self) -> Result<Fault, FaultParseError> {
        let fault = self.fault.parse()?;
        Ok(match (fault, self.for_millis) {
            (Fault::Down { .. }, Some(millis)) => Fault::Down {
                for_duration: Some(Duration::from_millis(millis)),
            },
            (fault, _) => fault,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_the_command_line_and_print_back() {
        for text in [
            "down",
            "down=1500",
            "slow=200",
            "5xx",
            "429=30",
            "timeout",
            "reject",
        ] {
            assert_eq!(text.parse::<Fault>().unwrap().to_string(), text);
        }
        assert_eq!(
            "429".parse::<Fault>().unwrap(),
            Fault::RateLimited { retry_after_secs: 1 }
        );
        assert_eq!(parse_scripted("5xx*3").unwrap(), (Fault::ServerError, Some(3)));
        for bad in ["slow", "5xx=2", "flaky", "5xx*x"] {
            assert!(parse_scripted(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_counted_fault_ends_after_its_requests() {
        let faults = Faults::default();
        faults.set(Fault::Reject, Some(2));
        assert!(faults.take_reject());
        assert!(faults.take_reject());
        assert!(!faults.take_reject());
        assert_eq!(faults.current(), None);
    }

    #[test]
    fn a_fault_of_another_kind_is_not_used_up() {
        let faults = Faults::default();
        faults.set(Fault::ServerError, Some(1));
        assert!(!faults.take_reject());
        assert_eq!(faults.current(), Some(Fault::ServerError));
    }
}
