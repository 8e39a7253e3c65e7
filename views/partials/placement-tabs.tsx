const TABS = [
  { id: "cruscotto", href: "/placement", label: "Cruscotto" },
  { id: "import", href: "/placement/import-massivo", label: "Import massivo fasce deboli" },
  { id: "riepilogo", href: "/placement/riepilogo", label: "Riepilogo elaborazioni" },
] as const;

/** The subsections of Placement. */
export function PlacementTabs(props: { current: (typeof TABS)[number]["id"] }) {
  return (
    <nav class="tabs" aria-label="Sezione Placement">
      {TABS.map((tab) => (
        <a href={tab.href} aria-current={tab.id === props.current ? "page" : undefined}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}
