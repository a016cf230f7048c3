//! TODO(owner): policy
