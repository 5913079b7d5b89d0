//! Tests of the appc module.
