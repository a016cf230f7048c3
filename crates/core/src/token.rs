//! TODO(owner): token
