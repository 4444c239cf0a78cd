//! claimmd plugin: filled in by the plugin work of issue 6.
