/// The named character references `TextCleaner` knows: the HTML 4 set (Latin-1, symbols, Greek, specials) plus
/// `&apos;` and the upper-case aliases that HTML5 keeps. Python's `html.unescape` knows all 2,231 HTML5 names;
/// the rest are rare in class names and prompts and are left as they are.
enum HTMLEntities {
    /// Entity name (without `&` and `;`) -> character.
    static let named: [String: Unicode.Scalar] = {
        var table: [String: Unicode.Scalar] = [:]
        func add(_ names: String, from first: UInt32) {
            for (offset, name) in names.split(separator: " ").enumerated() where name != "_" {
                table[String(name)] = Unicode.Scalar(first + UInt32(offset))!
            }
        }
        add(latin1, from: 0xA0)
        add("Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho _ Sigma"
            + " Tau Upsilon Phi Chi Psi Omega", from: 0x391)
        add("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf"
            + " sigma tau upsilon phi chi psi omega", from: 0x3B1)
        add("ensp emsp", from: 0x2002)
        add("thinsp", from: 0x2009)
        add("zwnj zwj lrm rlm", from: 0x200C)
        add("ndash mdash", from: 0x2013)
        add("lsquo rsquo sbquo _ ldquo rdquo bdquo _ dagger Dagger bull", from: 0x2018)
        add("larr uarr rarr darr harr", from: 0x2190)
        add("lArr uArr rArr dArr hArr", from: 0x21D0)
        add("lceil rceil lfloor rfloor", from: 0x2308)
        add("spades _ _ clubs _ hearts diams", from: 0x2660)
        let single: [(String, UInt32)] = [
            ("quot", 0x22), ("amp", 0x26), ("apos", 0x27), ("lt", 0x3C), ("gt", 0x3E),
            ("QUOT", 0x22), ("AMP", 0x26), ("LT", 0x3C), ("GT", 0x3E), ("COPY", 0xA9), ("REG", 0xAE),
            ("OElig", 0x152), ("oelig", 0x153), ("Scaron", 0x160), ("scaron", 0x161), ("Yuml", 0x178),
            ("fnof", 0x192), ("circ", 0x2C6), ("tilde", 0x2DC),
            ("thetasym", 0x3D1), ("upsih", 0x3D2), ("piv", 0x3D6),
            ("hellip", 0x2026), ("permil", 0x2030), ("prime", 0x2032), ("Prime", 0x2033),
            ("lsaquo", 0x2039), ("rsaquo", 0x203A), ("oline", 0x203E), ("frasl", 0x2044), ("euro", 0x20AC),
            ("image", 0x2111), ("weierp", 0x2118), ("real", 0x211C), ("trade", 0x2122), ("alefsym", 0x2135),
            ("crarr", 0x21B5), ("forall", 0x2200), ("part", 0x2202), ("exist", 0x2203), ("empty", 0x2205),
            ("nabla", 0x2207), ("isin", 0x2208), ("notin", 0x2209), ("ni", 0x220B), ("prod", 0x220F),
            ("sum", 0x2211), ("minus", 0x2212), ("lowast", 0x2217), ("radic", 0x221A), ("prop", 0x221D),
            ("infin", 0x221E), ("ang", 0x2220), ("and", 0x2227), ("or", 0x2228), ("cap", 0x2229),
            ("cup", 0x222A), ("int", 0x222B), ("there4", 0x2234), ("sim", 0x223C), ("cong", 0x2245),
            ("asymp", 0x2248), ("ne", 0x2260), ("equiv", 0x2261), ("le", 0x2264), ("ge", 0x2265),
            ("sub", 0x2282), ("sup", 0x2283), ("nsub", 0x2284), ("sube", 0x2286), ("supe", 0x2287),
            ("oplus", 0x2295), ("otimes", 0x2297), ("perp", 0x22A5), ("sdot", 0x22C5), ("lang", 0x27E8),
            ("rang", 0x27E9), ("loz", 0x25CA),
        ]
        for (name, value) in single { table[name] = Unicode.Scalar(value)! }
        return table
    }()

    /// The names HTML5 also accepts without the closing `;` (`&amp`, `&copy2024` -> `©2024`): the Latin-1 set
    /// plus `amp lt gt quot` and their upper-case aliases.
    static let legacy: Set<String> = Set(latin1.split(separator: " ").map(String.init))
        .union(["amp", "lt", "gt", "quot", "AMP", "LT", "GT", "QUOT", "COPY", "REG"])

    /// The names of U+00A0 ... U+00FF, in code point order.
    private static let latin1 = """
        nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr \
        deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest \
        Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml \
        ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig \
        agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml \
        eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml
        """
}
