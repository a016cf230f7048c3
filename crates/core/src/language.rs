//! TODO(owner): language
