//! Every WGSL file parses and validates with naga, stays within WebGPU's default limits
//! (256 invocations and 16 KiB of workgroup memory per workgroup, 8 storage buffers per
//! stage), and is registered in `kernels::SHADERS`. Needs no GPU.

use std::path::Path;

const MAX_INVOCATIONS: u32 = 256;
const MAX_WORKGROUP_BYTES: u32 = 16 * 1024;
const MAX_STORAGE_BUFFERS: usize = 8;

fn shader_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("readable shader"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no shaders found in {}", dir.display());
    files
}

fn parse(name: &str, source: &str) -> naga::Module {
    naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)))
}

/// Every module the host compiles, with the capabilities it needs: a shader with subgroup
/// parts is compiled with them (its source then `lanes.on`) or without (then `lanes.off`).
fn modules() -> Vec<(String, String, naga::valid::Capabilities)> {
    let mut out = Vec::new();
    for shader in webgan::kernels::SHADERS {
        match &shader.lanes {
            None => out.push((
                shader.name.to_string(),
                shader.source.to_string(),
                naga::valid::Capabilities::empty(),
            )),
            Some(lanes) => {
                out.push((
                    format!("{} with subgroups", shader.name),
                    format!("{}{}", shader.source, lanes.on),
                    naga::valid::Capabilities::SUBGROUP,
                ));
                if !lanes.off.is_empty() {
                    out.push((
                        format!("{} without subgroups", shader.name),
                        format!("{}{}", shader.source, lanes.off),
                        naga::valid::Capabilities::empty(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_shader_parses_and_validates() {
    for (name, source, capabilities) in modules() {
        let module = parse(&name, &source);
        let mut validator =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities);
        if capabilities.contains(naga::valid::Capabilities::SUBGROUP) {
            validator
                .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
                .subgroup_operations(naga::valid::SubgroupOperationSet::all());
        }
        validator
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    }
}

#[test]
fn every_shader_fits_webgpu_default_limits() {
    for (name, source, _) in modules() {
        let module = parse(&name, &source);
        for ep in &module.entry_points {
            let [x, y, z] = ep.workgroup_size;
            assert!(
                x * y * z <= MAX_INVOCATIONS,
                "{name}::{}: {x}×{y}×{z} invocations",
                ep.name
            );
        }
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let mut workgroup_bytes = 0;
        let mut storage_buffers = 0;
        for (_, var) in module.global_variables.iter() {
            match var.space {
                naga::AddressSpace::WorkGroup => workgroup_bytes += layouter[var.ty].size,
                naga::AddressSpace::Storage { .. } => storage_buffers += 1,
                _ => {}
            }
        }
        // Counting over the whole module is stricter than per entry point, and simpler.
        assert!(
            workgroup_bytes <= MAX_WORKGROUP_BYTES,
            "{name}: {workgroup_bytes} bytes of workgroup memory"
        );
        assert!(
            storage_buffers <= MAX_STORAGE_BUFFERS,
            "{name}: {storage_buffers} storage buffers"
        );
    }
}

#[test]
fn every_shader_file_is_registered() {
    let registered: Vec<&str> = webgan::kernels::SHADERS.iter().map(|s| s.name).collect();
    for (file, source) in shader_files() {
        // A file is a shader's source, a part of it (conv.wgsl and its output's declaration),
        // or one of its subgroup parts, embedded as it is.
        let part_of = |s: &&&webgan::gpu::Shader| {
            (!source.is_empty() && s.source.contains(source.as_str()))
                || s.lanes.as_ref().is_some_and(|l| {
                    [l.on, l.off]
                        .iter()
                        .any(|part| !part.is_empty() && *part == source)
                })
        };
        let shader = webgan::kernels::SHADERS
            .iter()
            .find(part_of)
            .unwrap_or_else(|| {
                panic!("{file} is not in kernels::SHADERS as it is on disk ({registered:?})")
            });
        // The Rust-side binding list must match the shader's own bindings.
        let whole = match &shader.lanes {
            Some(l) => format!("{}{}", shader.source, l.on),
            None => shader.source.to_string(),
        };
        let module = parse(&file, &whole);
        let bindings = module
            .global_variables
            .iter()
            .filter(|(_, v)| v.binding.is_some())
            .count();
        assert_eq!(bindings, shader.bindings.len(), "{file}: binding count");
    }
}
