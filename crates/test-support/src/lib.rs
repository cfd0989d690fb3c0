//! Helpers for servicing-doctor's tests, never published: [`regf_writer`] builds the
//! Windows registry hives the registry reader is tested on (committed tests must not depend
//! on hives from outside the repository).
//!
//! It depends on nothing of servicing-doctor-core, so that core's own unit tests can use it
//! as well as the integration tests of core and the command line.

pub mod regf_writer;
