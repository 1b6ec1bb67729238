// What the viewer adds to datasette-dashboards' pages, loaded before the plugin's scripts.
//
// A chart whose query returned no rows says nothing: a meeting from a vendor that reports no
// minutes, a metric a client never sent. The plugin draws it anyway (axes around nothing), so
// its card is taken off the page instead; a chart whose spec has usermeta.when_empty says that
// sentence in its place. vega-embed, loaded after this file, sets window.vegaEmbed: the setter
// below takes it as it arrives and every chart is drawn through `drawUnlessEmpty`.
//
// A chart whose spec has usermeta.title_link has its card's title lead there, with this page's
// filters (the plugin's title leads to the chart alone): "by building" opens Which office?.
(function () {
  let embed = null

  function linkTitle (element, target) {
    const title = element.closest('.dashboard-card')?.querySelector('.dashboard-card-title a')
    if (title && target.startsWith('/')) {
      title.href = target + window.location.search
    }
  }

  function drawUnlessEmpty (element, spec, options) {
    if (spec && spec.usermeta && spec.usermeta.title_link) {
      linkTitle(element, spec.usermeta.title_link)
    }
    const rows = spec && spec.data && spec.data.values
    if (!Array.isArray(rows) || rows.length > 0) {
      return embed(element, spec, options)
    }
    const said = spec.usermeta && spec.usermeta.when_empty
    const card = element.closest('.dashboard-card')
    if (said) {
      const line = document.createElement('p')
      line.className = 'meetq-empty'
      line.textContent = said
      element.replaceChildren(line)
    } else if (card) {
      card.classList.add('meetq-nothing-to-show')
    }
    return Promise.resolve(null)
  }

  Object.defineProperty(window, 'vegaEmbed', {
    configurable: true,
    get () { return embed && drawUnlessEmpty },
    set (value) { embed = value }
  })
})()
