//! The Digits gRPC APIs, generated from the `.proto` files in this folder.
//!
//! One crate generates the code once; every service and client depends on it.
//! [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection, so `grpcurl` works
//! without the proto files.

/// `digits.inference.v1`: handwritten-digit recognition.
pub mod inference {
    /// Version 1 of the inference API.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        tonic::include_proto!("digits.inference.v1");
    }

    /// The gRPC metadata the inference service sends beside its messages
    /// (described in `inference.proto`).
    pub mod metadata {
        /// On an error status: the kind of error, a stable name such as
        /// `empty_drawing` or `image_too_large`.
        pub const ERROR_CODE: &str = "digits-error-code";
        /// On every response: the name of the replica that answered.
        pub const REPLICA: &str = "digits-replica";
    }
}

/// `digits.logging.v1`: predictions and feedback, stored.
pub mod logging {
    /// Version 1 of the logging API.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        tonic::include_proto!("digits.logging.v1");
    }
}

/// The encoded `FileDescriptorSet` of every Digits proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
