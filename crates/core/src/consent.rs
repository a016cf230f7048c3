//! TODO(owner): consent
