//! The demonstration is a cargo feature of the binary (docs/operations.md, "Production build"):
//! settings or a command that ask for it on a binary built without it are refused with this.

/// This binary was built without the demonstration (the `demo` cargo feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{code} ce binaire est construit sans la démonstration (fonctionnalité cargo « demo »)", code = self.code())]
pub struct WithoutDemo;

impl WithoutDemo {
    pub fn code(&self) -> &'static str {
        "DEM002"
    }
}
