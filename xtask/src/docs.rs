//! Checks that README tells the truth about the repository: its "What is
//! here" table names every workspace crate's folder, and every folder it
//! names exists. Run by `cargo test -p xtask`.

#[cfg(test)]
mod tests {
    use crate::setup::root as repo_root;

    /// The folders of the workspace's members, as `Cargo.toml` lists them.
    fn workspace_members(manifest: &str) -> Vec<String> {
        let start = manifest.find("members = [").expect("Cargo.toml lists its members");
        let list = &manifest[start..];
        let list = &list[..list.find(']').expect("the members list ends")];
        list.split('"').skip(1).step_by(2).map(str::to_owned).collect()
    }

    /// The folders in the first column of README's "What is here" table.
    fn readme_folders(readme: &str) -> Vec<String> {
        let start = readme.find("## What is here").expect("README has a \"What is here\" section");
        let section = &readme[start..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
        section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .map(|folder| folder.trim_end_matches('/').to_owned())
            .collect()
    }

    #[test]
    fn readme_names_every_crate_folder_and_only_real_ones() {
        let root = repo_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let listed = readme_folders(&readme);
        assert!(listed.len() >= 10, "README's table has too few rows: {listed:?}");
        for member in workspace_members(&manifest) {
            assert!(listed.contains(&member), "README's \"What is here\" table misses {member}");
        }
        for folder in &listed {
            assert!(root.join(folder).is_dir(), "README names {folder}, which does not exist");
        }
    }

    #[test]
    fn services_and_libraries_are_told_apart_by_folder() {
        let root = repo_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        for member in workspace_members(&manifest) {
            let Some(rest) = member.strip_prefix("services/") else { continue };
            let has_binary = root.join(&member).join("src/main.rs").is_file();
            match rest.split('/').next() {
                Some("libs") => assert!(!has_binary, "{member} is a library folder but has a main.rs"),
                Some("tools") => {}
                _ => assert!(has_binary, "{member} sits beside the services but is not one"),
            }
        }
    }
}
