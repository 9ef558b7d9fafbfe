//! TODO

pub fn main(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
