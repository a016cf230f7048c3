//! TODO(owner): jwk
