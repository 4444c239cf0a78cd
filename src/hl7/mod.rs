//! HL7 v2: the MLLP listener (frame → connection → listener), the message model
//! over hl7-parser, ACKs, ingestion (store, apply, acknowledge) and the v2→FHIR maps.

pub mod ack;
pub mod connection;
pub mod frame;
pub mod ingest;
pub mod listener;
pub mod mapping;
pub mod message;
pub mod routes;
pub mod tls;
