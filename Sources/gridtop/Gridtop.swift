import ArgumentParser

@main
struct Gridtop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridtop",
        abstract: "A terminal dashboard for electricity-grid control rooms on consortium blockchains.",
        discussion: """
            Watches the energy flowing stage by stage (generation → transmission → substation → feeder → \
            transformer → consumers) as recorded on chain, the health of the chain's nodes and consensus, \
            and raises alarms — above all suspected electricity theft.
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, WatchCommand.self, AlertsCommand.self, AlarmsCommand.self, SimCommand.self],
        defaultSubcommand: DemoCommand.self
    )
}
