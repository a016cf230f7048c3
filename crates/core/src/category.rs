//! TODO(owner): category
