//! A patient who exists nowhere else: the canary test sends these values through
//! every way in, and the log check looks for them, so it can never pass for want
//! of PHI to find. Each is also written the way HL7 v2 and X12 write it.

pub const FAMILY: &str = "Quillfeather";
pub const GIVEN: &str = "Zebulon";
pub const MIDDLE: &str = "Ottoline";
pub const BIRTH_DATE: &str = "1937-03-14";
/// The birth date as HL7 v2 (DT) and X12 (D8) write it.
pub const BIRTH_DATE_COMPACT: &str = "19370314";
pub const MRN: &str = "QF7731904";
pub const SSN: &str = "987-65-4320";
pub const MEMBER_ID: &str = "QFM99123";
pub const PHONE: &str = "(555) 014-7882";
pub const STREET: &str = "4242 Quillfeather Lane";
pub const CITY: &str = "Zebulonville";
pub const EMAIL: &str = "zebulon.quillfeather@example.org";

/// Every canary value, each named by what it is.
pub const VALUES: [(&str, &str); 13] = [
    ("family name", FAMILY),
    ("given name", GIVEN),
    ("middle name", MIDDLE),
    ("birth date", BIRTH_DATE),
    ("birth date (HL7/X12)", BIRTH_DATE_COMPACT),
    ("MRN", MRN),
    ("SSN", SSN),
    ("SSN (digits)", "987654320"),
    ("member id", MEMBER_ID),
    ("phone", PHONE),
    ("street", STREET),
    ("city", CITY),
    ("email", EMAIL),
];

/// The target of the line the canary test logs when it has sent everything: the
/// log check requires it, so a run without the canary cannot pass.
pub const MARKER_TARGET: &str = "phi_canary";

/// What every request id of the canary test starts with.
pub const REQUEST_ID_PREFIX: &str = "phi-canary-";
