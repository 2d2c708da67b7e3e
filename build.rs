//! ONNX's message types, generated from the vendored official schema (proto/onnx.proto3) at
//! build time: protox parses it in Rust (no protoc binary to install), prost-build writes the
//! structs that src/export/onnx encodes.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const SCHEMA: &str = "proto/onnx.proto3";
    println!("cargo:rerun-if-changed={SCHEMA}");
    let descriptors = protox::compile([SCHEMA], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
