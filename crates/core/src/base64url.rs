//! TODO(owner): base64url
