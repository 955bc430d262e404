pub fn bench(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
