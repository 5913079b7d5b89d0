pub(crate) mod extract;
