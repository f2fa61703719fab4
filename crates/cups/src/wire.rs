//! From CUPS's IPP answers to our types. The bytes are parsed by the `ipp` crate; what is
//! here checks and reads its result without trusting it (missing, mistyped or out-of-range
//! values are errors, never panics). Public for the fuzz target (`crates/cups/fuzz`).

use std::io::Cursor;

use ipp::model::{DelimiterTag, StatusCode};
use ipp::parser::IppParser;
use ipp::reader::IppReader;
use ipp::request::IppRequestResponse;
use ipp::value::IppValue;

use crate::{CupsError, PrinterState, PrinterStatus};

const PRINTER_STATE: &str = "printer-state";
const PRINTER_IS_ACCEPTING_JOBS: &str = "printer-is-accepting-jobs";
const PRINTER_STATE_REASONS: &str = "printer-state-reasons";
const JOB_ID: &str = "job-id";
const JOB_STATE: &str = "job-state";

/// An IPP response body as the `ipp` crate parses it.
pub fn parse_response(body: &[u8]) -> Result<IppRequestResponse, CupsError> {
    let body = body.to_vec();
    contain_panic(move || {
        IppParser::new(IppReader::new(Cursor::new(body)))
            .parse()
            .map_err(|e| CupsError::Parse(e.to_string()))
    })
}

/// ipp 8.0.0 panics on some malformed values (found by our fuzz target: a text-with-language
/// length past the value's end slices out of bounds in `get_len_string`). A bad answer must be
/// an error, not a dead worker thread, so every call into its parser goes through here.
pub(crate) fn contain_panic<T>(
    f: impl FnOnce() -> Result<T, CupsError> + std::panic::UnwindSafe,
) -> Result<T, CupsError> {
    std::panic::catch_unwind(f).unwrap_or_else(|_| {
        Err(CupsError::Parse(
            "malformed value (the IPP parser panicked)".into(),
        ))
    })
}

/// A successful status, or the error naming the operation.
pub fn check_status(resp: &IppRequestResponse, operation: &'static str) -> Result<(), CupsError> {
    let status = resp.header().status_code();
    if status.is_success() {
        Ok(())
    } else {
        Err(CupsError::Status {
            operation,
            status: match status {
                StatusCode::UnknownStatusCode => resp.header().operation_or_status as u16,
                known => known as u16,
            },
        })
    }
}

/// The raw body of a Get-Printer-Attributes answer → [`PrinterStatus`] (what the fuzz target
/// drives).
pub fn printer_status_from_body(body: &[u8]) -> Result<PrinterStatus, CupsError> {
    let resp = parse_response(body)?;
    check_status(&resp, "Get-Printer-Attributes")?;
    printer_status_from(&resp)
}

fn find<'a>(resp: &'a IppRequestResponse, tag: DelimiterTag, name: &str) -> Option<&'a IppValue> {
    resp.attributes()
        .groups_of(tag)
        .find_map(|g| g.get(name))
        .map(|a| a.value())
}

fn int(value: &IppValue) -> Option<i32> {
    match value {
        IppValue::Enum(n) | IppValue::Integer(n) => Some(*n),
        _ => None,
    }
}

pub fn printer_status_from(resp: &IppRequestResponse) -> Result<PrinterStatus, CupsError> {
    let tag = DelimiterTag::PrinterAttributes;
    let state = find(resp, tag, PRINTER_STATE)
        .and_then(int)
        .ok_or(CupsError::Missing(PRINTER_STATE))?;
    let state = match state {
        3 => PrinterState::Idle,
        4 => PrinterState::Processing,
        5 => PrinterState::Stopped,
        other => {
            return Err(CupsError::Invalid {
                name: PRINTER_STATE,
                value: other.into(),
            })
        }
    };
    let accepting = match find(resp, tag, PRINTER_IS_ACCEPTING_JOBS) {
        Some(IppValue::Boolean(b)) => *b,
        _ => return Err(CupsError::Missing(PRINTER_IS_ACCEPTING_JOBS)),
    };
    let reasons = match find(resp, tag, PRINTER_STATE_REASONS) {
        Some(IppValue::Array(values)) => values.iter().filter_map(keyword).collect(),
        Some(value) => keyword(value).into_iter().collect(),
        // Required by RFC 8011, but its absence says nothing is wrong, not that all is.
        None => return Err(CupsError::Missing(PRINTER_STATE_REASONS)),
    };
    Ok(PrinterStatus {
        state,
        accepting,
        reasons,
    })
}

fn keyword(value: &IppValue) -> Option<String> {
    match value {
        IppValue::Keyword(k) => Some(k.as_str().to_string()),
        _ => None,
    }
}

/// `job-id` of a Print-Job answer.
pub fn job_id_from(resp: &IppRequestResponse) -> Result<i32, CupsError> {
    let id = find(resp, DelimiterTag::JobAttributes, JOB_ID)
        .and_then(int)
        .ok_or(CupsError::Missing(JOB_ID))?;
    if id <= 0 {
        return Err(CupsError::Invalid {
            name: JOB_ID,
            value: id.into(),
        });
    }
    Ok(id)
}

/// `job-state` (3–9) of a Get-Job-Attributes answer.
pub fn job_state_from(resp: &IppRequestResponse) -> Result<i32, CupsError> {
    let state = find(resp, DelimiterTag::JobAttributes, JOB_STATE)
        .and_then(int)
        .ok_or(CupsError::Missing(JOB_STATE))?;
    if !(3..=9).contains(&state) {
        return Err(CupsError::Invalid {
            name: JOB_STATE,
            value: state.into(),
        });
    }
    Ok(state)
}

/// The raw body of a Get-Job-Attributes answer → its `job-state` (the fuzz target's second
/// half).
pub fn job_state_from_body(body: &[u8]) -> Result<i32, CupsError> {
    let resp = parse_response(body)?;
    check_status(&resp, "Get-Job-Attributes")?;
    job_state_from(&resp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ipp::attribute::IppAttribute;
    use ipp::model::IppVersion;

    use super::*;

    fn response(attrs: Vec<(&str, IppValue)>) -> Vec<u8> {
        let mut resp =
            IppRequestResponse::new_response(IppVersion::v1_1(), StatusCode::SuccessfulOk, 1)
                .unwrap();
        for (name, value) in attrs {
            resp.attributes_mut().add(
                DelimiterTag::PrinterAttributes,
                IppAttribute::with_name(name, value).unwrap(),
            );
        }
        resp.to_bytes().to_vec()
    }

    fn kw(s: &str) -> IppValue {
        IppValue::Keyword(ipp::value::IppKeyword::new(s).unwrap())
    }

    #[test]
    fn reads_state_accepting_and_reasons() {
        let body = response(vec![
            (PRINTER_STATE, IppValue::Enum(5)),
            (PRINTER_IS_ACCEPTING_JOBS, IppValue::Boolean(false)),
            (
                PRINTER_STATE_REASONS,
                IppValue::Array(vec![kw("paused"), kw("media-low-warning")]),
            ),
        ]);
        assert_eq!(
            printer_status_from_body(&body).unwrap(),
            PrinterStatus {
                state: PrinterState::Stopped,
                accepting: false,
                reasons: vec!["paused".into(), "media-low-warning".into()],
            }
        );
    }

    #[test]
    fn missing_or_odd_values_are_errors() {
        let body = response(vec![(PRINTER_STATE, IppValue::Enum(3))]);
        assert!(matches!(
            printer_status_from_body(&body),
            Err(CupsError::Missing(PRINTER_IS_ACCEPTING_JOBS))
        ));
        let body = response(vec![
            (PRINTER_STATE, IppValue::Enum(9)),
            (PRINTER_IS_ACCEPTING_JOBS, IppValue::Boolean(true)),
            (PRINTER_STATE_REASONS, kw("none")),
        ]);
        assert!(matches!(
            printer_status_from_body(&body),
            Err(CupsError::Invalid { value: 9, .. })
        ));
        assert!(matches!(
            printer_status_from_body(b"\x01"),
            Err(CupsError::Parse(_))
        ));
        assert!(printer_status_from_body(&[]).is_err());
        // The fuzz target's first find: a panic inside ipp 8.0.0, contained.
        let crash = b"\x01\x14\x00\x00\x0c\x20\x03\x26\x35\x00\x00\x00\x02\x0c\x00\x00\x01\x01\x13\x01\x14\x0a";
        assert!(matches!(
            printer_status_from_body(crash),
            Err(CupsError::Parse(_))
        ));
    }

    #[test]
    fn a_failed_status_names_the_operation() {
        let resp = IppRequestResponse::new_response(
            IppVersion::v1_1(),
            StatusCode::ClientErrorNotFound,
            1,
        )
        .unwrap();
        let err = printer_status_from_body(&resp.to_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CUPS answered Get-Printer-Attributes with status 0x0406"
        );
    }
}
