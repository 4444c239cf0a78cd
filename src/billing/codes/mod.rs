//! The code sets claims are checked against: ICD-10-CM diagnoses, HCPCS Level II
//! procedures, modifiers and places of service, plus the shapes of CPT codes.
//!
//! The lists are compact files under `data/codes/` (see its README for sources and
//! editions) embedded with `include_str!`, so a server needs no code files at run time.
//! Each set is built on first use and kept for the life of the process: scrubbing
//! runs tens of thousands of claims a second, so a lookup is one hash probe.

use std::collections::HashSet;

pub mod hcpcs;
pub mod icd10;
pub mod modifiers;
pub mod place_of_service;
pub mod procedure;

/// The codes of an embedded list, one per line.
fn code_set(list: &'static str) -> HashSet<&'static str> {
    list.lines().collect()
}
