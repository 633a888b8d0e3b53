"""The field's words: abbreviations and synonyms of Italian local welfare, shipped with Tavoli.

Each line is one concept: its forms separated by "=" (an abbreviation, its expansion, the
words people use for it). Two posts that name the same concept in different forms ("SAD",
"assistenza domiciliare comunale") then share it in `services/similarity.py`. A moderator
adds an event's own lines in the same format (`Event.glossary`); they extend these.

Keep a line to one concrete thing: a line that joins two different services ("SAD = ADI")
would make their posts look like duplicates, and the labelling rule keeps them apart.
A line starting with "*" is a broad concept (a target group, a place, a general word such
as "liste d'attesa"): its forms meet, but it weighs as one word, not as a named service,
since two posts about the elderly may ask for quite different things.
"""

GLOSSARY = """
sad = servizio di assistenza domiciliare = assistenza domiciliare = assistenza domiciliare comunale = assistenza domiciliare sociale = aiuto domestico
adi = assistenza domiciliare integrata = cure domiciliari = infermiere a domicilio = infermieri a domicilio
cdi = centro diurno = centri diurni = centro diurno integrato = centro diurno anziani
cdd = centro diurno disabili = centro socio educativo = cse
rsa = residenza sanitaria assistenziale = casa di riposo = case di riposo = casa di cura
teleassistenza = telesoccorso = braccialetto salvavita = chiamata d'emergenza = pulsante di emergenza = salvavita
sollievo = ricovero di sollievo = ricoveri di sollievo = posti di sollievo = respiro
caregiver = caregiver familiare = caregiver familiari = familiare che assiste = familiari che assistono = chi assiste un familiare
ama = auto mutuo aiuto = mutuo aiuto = gruppi di auto aiuto = gruppo di auto aiuto
* anziani = anziano = over 65 = over 70 = over 75 = over 80 = terza eta = nonni = nonno = nonna = pensionati = popolazione anziana
* disabili = disabilita = persone con disabilita = disabile = carrozzina = handicap = non autosufficienti = non autosufficienza
dopo di noi = l 112 = legge 112 = l 112 2016 = gruppi appartamento = gruppo appartamento
aec = assistente all'autonomia = assistenti all'autonomia = assistenza educativa scolastica = assistente all'autonomia e comunicazione = assistenti all'autonomia e comunicazione = educatore scolastico
adm = educativa domiciliare = educatori domiciliari = educatore domiciliare = assistenza domiciliare minori
neet = non studiano e non lavorano = non studia e non lavora = ne studiano ne lavorano = giovani inattivi
* giovani = ragazzi = ragazze = adolescenti = adolescente = teenager = under 30 = under 25 = under 40 = studenti = giovanile = youth
cpi = centro per l'impiego = centri per l'impiego = centro impiego = ufficio di collocamento
nido = asilo nido = asili nido = nidi = micronido = sezione primavera
erp = edilizia residenziale pubblica = case popolari = casa popolare = alloggi popolari = alloggio popolare = aler = ater = acer = condomini popolari
csm = centro di salute mentale = centri di salute mentale = salute mentale territoriale
tirocini = tirocinio = tis = tirocini di inclusione = tirocinio di inclusione = borse lavoro = borsa lavoro = stage
coop b = cooperative di tipo b = cooperative sociali di tipo b = cooperativa di tipo b = coop di inserimento = cooperative di inserimento = art 5 l 381 = l 381 91
doposcuola = aiuto compiti = spazio compiti = ripetizioni = sostegno scolastico = compiti
emporio solidale = emporio della solidarieta = market solidale = supermercato solidale = empori solidali
dormitorio = accoglienza notturna = posti letto = posto letto = piano freddo = emergenza freddo = asilo notturno
senza dimora = senzatetto = senza tetto = chi dorme in strada = chi vive in strada = clochard = homeless = persone senza fissa dimora
morosita incolpevole = fondo morosita = sfratto = sfratti = sfrattati
eccedenze alimentari = eccedenze = spreco alimentare = invenduto = cibo in scadenza
* isee = indicatore della situazione economica = isee basso = reddito basso = famiglie in difficolta
dsa = disturbi specifici dell'apprendimento = dislessia = discalculia = disgrafia
uonpia = npi = npia = neuropsichiatria infantile = neuropsichiatria dell'infanzia = neuropsichiatra infantile
pua = punto unico di accesso = porta unica di accesso = sportello unico di accesso
msna = minori stranieri non accompagnati = minore straniero non accompagnato = minori non accompagnati
cav = centro antiviolenza = centri antiviolenza = centro anti violenza
casa rifugio = case rifugio = accoglienza protetta = casa protetta = case protette = strutture protette
violenza = violenza domestica = violenza di genere = maltrattamento = maltrattante = maltrattamenti = violenza sulle donne
runts = registro unico del terzo settore = registro unico nazionale del terzo settore
* ets = enti del terzo settore = ente del terzo settore = terzo settore = associazioni = cooperative = aps = no profit
serd = sert = servizio per le dipendenze = servizi per le dipendenze = dipendenze patologiche
gioco d'azzardo = azzardo = slot = slot machine = macchinette = gap = ludopatia = sale giochi
peer education = educazione tra pari = educazione fra pari = peer educator
mediazione culturale = mediatori culturali = mediatore culturale = mediazione linguistico culturale = interpreti = interprete = mediazione linguistica
italiano l2 = corsi di italiano = corso di italiano = scuola di italiano = lingua italiana per stranieri
* stranieri = straniere = migranti = immigrati = famiglie straniere = rifugiati = richiedenti asilo
* trasporto = navetta = pulmino = pulmini = accompagnamento = accompagnamenti = bus = autobus = corriera = mezzo = mezzi = passaggio
trasporto a chiamata = bus a chiamata = trasporto a domanda = navetta su prenotazione = servizio a prenotazione = trasporto flessibile
* visite mediche = visite specialistiche = visite = ospedale = terapie = dialisi = cure = ambulatorio
* frazioni = aree interne = montagna = piccoli comuni = zone isolate = borghi
sportello psicologico = sportello d'ascolto = psicologo a scuola = supporto psicologico = psicologo scolastico = sportello di ascolto
* scuole superiori = istituti superiori = superiori = scuola superiore = licei = istituti
facilitazione digitale = facilitatori digitali = facilitatore digitale = spid = cie = app io = fascicolo sanitario = servizi online = computer = smartphone = alfabetizzazione digitale
* voucher = dote = bonus = contributo = buono = buoni
* sport = sportivo = sportiva = sportive = societa sportive = attivita sportiva
pdz = piano di zona = piani di zona = piano sociale di zona
ufficio di piano = udp
coprogettazione = co-progettazione = co progettazione = coprogrammazione = co-programmazione = art 55 = amministrazione condivisa
odv = organizzazioni di volontariato = associazioni di volontariato = organizzazione di volontariato
csv = centro servizi per il volontariato = centro di servizio per il volontariato
* volontari = volontario = volontaria = volontariato = volontarie
housing first = housing led = casa prima di tutto
budget di salute = budget di cura = progetto terapeutico riabilitativo individualizzato
amministratore di sostegno = amministratori di sostegno = ads
servizio civile = servizio civile universale = scu
pcto = alternanza scuola lavoro = alternanza scuola-lavoro
iefp = istruzione e formazione professionale = formazione professionale = centri di formazione professionale = cfp
uvm = unita di valutazione multidimensionale = valutazione multidimensionale
oss = operatore socio sanitario = operatori socio sanitari = operatrici socio sanitarie
* asl = azienda sanitaria = ausl = asp = ats = distretto sanitario = ulss
adi asl = infermiere dell'asl
* comune = comunale = comunali = amministrazione comunale = ente locale
case manager = referente unico = coordinatore del caso = regia
* liste d'attesa = lista d'attesa = tempi di attesa = attese = attesa = aspettano = graduatoria = graduatorie
* affitto = affitti = canone = locazione = affittare = casa in affitto
* rette = retta = tariffe = tariffa = quota sociale = costa = costano = costi = caro = care
* assistente sociale = assistenti sociali = servizio sociale = servizi sociali = segretariato sociale
* sportello = sportelli = punto di ascolto = punto informativo = help desk = desk
badante = badanti = assistente familiare = assistenti familiari = colf
alzheimer = demenza = demenze = decadimento cognitivo = caffe alzheimer
assegno di cura = contributo di cura = assegno di accompagnamento = indennita di accompagnamento
insegnante di sostegno = insegnanti di sostegno = docente di sostegno = docenti di sostegno
pei = piano educativo individualizzato = piano educativo individuale
barriere architettoniche = peba = piano di eliminazione delle barriere architettoniche = accessibilita
vita indipendente = progetto di vita = progetti di vita = assistente personale
autismo = autistici = autistico = spettro autistico = asd
ausili = ausilio = protesi = domotica
dispersione scolastica = abbandono scolastico = abbandono della scuola = lasciano la scuola = early school leavers
centro giovani = centro di aggregazione = centri di aggregazione = spazio giovani = centro di aggregazione giovanile = informagiovani
educativa di strada = operatori di prossimita = operatore di prossimita = unita di strada = outreach = street work
consultorio = consultori = consultorio familiare = consultori familiari
affido familiare = affidamento familiare = famiglie affidatarie = famiglia affidataria = affido etero familiare
genitorialita = sostegno alla genitorialita = centro per le famiglie = centri per le famiglie = scuola per genitori
tutela minori = servizio tutela minori = minori in carico = allontanamento
assegno di inclusione = reddito di cittadinanza = rdc = supporto formazione lavoro = sfl = reddito di inclusione = rei
mensa = mensa dei poveri = pasti caldi = pasto caldo = mense solidali
pacchi alimentari = pacco alimentare = banco alimentare = aiuti alimentari = spesa sospesa
poverta energetica = bollette = utenze = bolletta
emergenza abitativa = sfrattati senza casa = alloggi di emergenza = housing temporaneo
housing sociale = social housing = edilizia sociale = canone concordato = affitto calmierato
coabitazione = cohousing = co housing = coabitare = convivenza intergenerazionale
agenzia per la casa = agenzia sociale per l'affitto = agenzia sociale per la casa = fondo di garanzia = garante pubblico
inserimento lavorativo = inserimenti lavorativi = inclusione lavorativa = collocamento mirato = l 68 = legge 68
psichiatria = disagio psichico = disturbi psichiatrici = malattia mentale = sofferenza psichica
iesa = inserimento eterofamiliare supportato = inserimento eterofamiliare
sostanze = droghe = droga = cannabis = stupefacenti = cocaina
alcol = alcolismo = alcolici = abuso di alcol
riduzione del danno = riduzione dei rischi = drop in
permesso di soggiorno = permessi di soggiorno = questura = pratiche di immigrazione = rinnovo del permesso
sai = sprar = siproimi = cas = centri di accoglienza straordinaria = accoglienza migranti = seconda accoglienza
cuav = centro per uomini autori di violenza = centri per uomini maltrattanti = uomini maltrattanti = autori di violenza
codice rosso = protocollo antiviolenza = rete antiviolenza
divario digitale = digital divide = analfabetismo digitale = competenze digitali
biblioteca = biblioteche = biblioteca comunale = aula studio = sala studio
teatro = cinema = spettacoli = eventi culturali = cultura
palestra = palestre = piscina = impianti sportivi = campetti = centro sportivo
* ambito territoriale = ambito sociale = ambito = ambiti = distretto sociale = distretto = ats ambito
osservatorio = banca dati = dati condivisi = sistema informativo = monitoraggio dei bisogni
cartella sociale = cartella sociale informatizzata = fascicolo sociale = cartella unica
tavoli tematici = tavolo tematico = tavoli di coprogrammazione = tavoli del piano = tavolo permanente
casa della comunita = case della comunita = casa della salute = case della salute = cds
medico di base = medici di base = medico di famiglia = medici di famiglia = mmg = pediatra di libera scelta = pls
pronto soccorso = guardia medica = continuita assistenziale
sportello sociale = punto di accesso sociale = sportello di prossimita = sportello sociale itinerante
"""
